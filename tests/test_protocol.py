"""The HTTP protocol `custtype serve` runs: Nagle off however the listening socket was bound."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
import uvicorn

from custtype.api.protocol import MAX_HEAD_BYTES, NoDelayHttpProtocol, set_nodelay


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):  # read the whole body
        pass
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _one_response(client: socket.socket) -> bytes:
    """Read one whole response of `_hello` (head and its 2-byte body), however the
    server's writes are split into TCP segments."""
    reply = b""
    while not reply.endswith(b"\r\n\r\nok"):
        part = client.recv(1000)
        assert part, f"connection closed after {reply!r}"
        reply += part
    return reply


@contextmanager
def _serving(http: Any) -> Iterator[tuple[uvicorn.Server, tuple[str, int]]]:
    """uvicorn with this protocol on a socket bound as uvicorn binds one for `--workers N`
    (proto 0), in a thread; yields the server and its address."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = uvicorn.Server(uvicorn.Config(_hello, http=http, lifespan="off", log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield server, listener.getsockname()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def _nodelay_of_accepted(http: Any) -> list[int]:
    """After one keep-alive request, the TCP_NODELAY flag of each accepted connection."""
    with _serving(http) as (server, address), socket.create_connection(address, 10) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _one_response(client).startswith(b"HTTP/1.1 200")
        return [
            conn.transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            for conn in list(server.server_state.connections)
        ]


def _reply(address: tuple[str, int], request: bytes) -> bytes:
    """Send `request` (ignoring a reset once the server has answered) and read the reply."""
    with socket.create_connection(address, timeout=10) as client:
        with suppress(OSError):
            client.sendall(request)
        return _read_response(client)


def _read_response(client: socket.socket) -> bytes:
    """One response: up to the end of its body ("ok", or the JSON error's closing brace)."""
    reply = b""
    with suppress(OSError):
        while part := client.recv(65536):
            reply += part
            if b"\r\n\r\n" in reply and reply.endswith((b"ok", b"}")):
                break
    return reply


def test_connections_on_a_pre_bound_socket_have_nagle_off() -> None:
    flags = _nodelay_of_accepted(NoDelayHttpProtocol)
    assert flags, "no connection was open"
    assert all(flags), flags


class _Transport:
    """Just enough of an asyncio transport for set_nodelay: its socket, or none."""

    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> Any:
        return self.sock if name == "socket" else None


def test_set_nodelay_leaves_non_tcp_sockets_alone() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert set_nodelay(_Transport(left)) is False  # type: ignore[arg-type]
    assert set_nodelay(_Transport(None)) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_set_nodelay_sets_the_flag_on_tcp(family: socket.AddressFamily) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert set_nodelay(_Transport(sock)) is True  # type: ignore[arg-type]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-A: " + b"a" * 8000 + b"\r\n") * 12,  # many
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (MAX_HEAD_BYTES + 5000),  # one, unended
        b"GET /" + b"u" * (MAX_HEAD_BYTES + 5000) + b" HTTP/1.1\r\n",  # the request line
        b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-A: " + b"a" * 8000 + b"\r\n") * 12 + b"\r\n",
        b"GET /" + b"u" * (MAX_HEAD_BYTES + 5000) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["many-headers", "one-huge-header", "huge-url", "complete-head", "complete-url"],
)
def test_a_request_head_over_the_limit_gets_431_and_the_server_keeps_serving(head: bytes) -> None:
    assert len(head) > MAX_HEAD_BYTES
    with _serving(NoDelayHttpProtocol) as (_, address):
        reply = _reply(address, head)
        assert reply.startswith(b"HTTP/1.1 431"), reply[:120]
        error = json.loads(reply.partition(b"\r\n\r\n")[2])
        assert error["error"] == "request_header_fields_too_large"
        assert "over the limit" in error["detail"]
        ok = _reply(address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200"), ok[:120]


def test_large_bodies_and_heads_under_the_limit_are_served() -> None:
    """Only the line and headers count: a 1 MB body and a 60 kB head pass, on one
    keep-alive connection, request after request."""
    body = b"x" * 1_000_000
    big_post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    big_head = b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-A: " + b"a" * 6000 + b"\r\n") * 10
    big_head += b"\r\n"
    assert len(big_head) < MAX_HEAD_BYTES
    with _serving(NoDelayHttpProtocol) as (_, address), socket.create_connection(address) as client:
        for request in (big_post, big_head, big_post):
            client.sendall(request)
            reply = _read_response(client)
            assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok"), reply[:120]


def _read_all(conn: socket.socket) -> bytes:
    reply = b""
    with suppress(OSError):
        while part := conn.recv(4096):
            reply += part
    return reply


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Le",  # headers trickle, then stop
    ],
)
def test_a_request_head_that_never_ends_gets_408_and_is_closed(
    sent: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(NoDelayHttpProtocol, "head_timeout", 0.5)
    with _serving(NoDelayHttpProtocol) as (_, address):
        with socket.create_connection(address, 10) as client:
            client.sendall(sent)
            started = time.monotonic()
            reply = _read_all(client)  # returns when the server closes
            waited = time.monotonic() - started
        assert reply.startswith(b"HTTP/1.1 408"), reply[:100]
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"] == "request_timeout"
        assert waited < 8  # closed by the server, not by the client's 10 s timeout
        with socket.create_connection(address, 10) as again:  # and it keeps serving
            again.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _one_response(again).startswith(b"HTTP/1.1 200")


def test_a_complete_head_is_not_timed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NoDelayHttpProtocol, "head_timeout", 0.5)
    with (
        _serving(NoDelayHttpProtocol) as (_, address),
        socket.create_connection(address, 10) as client,
    ):
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _one_response(client).startswith(b"HTTP/1.1 200")
        time.sleep(1.0)  # idle keep-alive: uvicorn's keep-alive timeout, not ours
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _one_response(client).startswith(b"HTTP/1.1 200")
