"""The HTTP protocol `custtype serve` runs: Nagle off however the listening socket was bound."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
import uvicorn

from custtype.api.protocol import NoDelayHttpProtocol, set_nodelay


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _nodelay_of_accepted(http: Any) -> list[int]:
    """Serve on a socket bound as uvicorn binds one for `--workers N` (proto 0); after one
    keep-alive request, the TCP_NODELAY flag of each accepted connection."""
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
        with socket.create_connection(listener.getsockname(), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(1000).startswith(b"HTTP/1.1 200")
            return [
                conn.transport.get_extra_info("socket").getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY
                )
                for conn in list(server.server_state.connections)
            ]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_connections_on_a_pre_bound_socket_have_nagle_off() -> None:
    flags = _nodelay_of_accepted(NoDelayHttpProtocol)
    assert flags, "no connection was open"
    assert all(flags), flags


def test_set_nodelay_leaves_non_tcp_sockets_alone() -> None:
    class Transport:
        def __init__(self, sock: socket.socket | None) -> None:
            self.sock = sock

        def get_extra_info(self, name: str) -> Any:
            return self.sock if name == "socket" else None

    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert set_nodelay(Transport(left)) is False  # type: ignore[arg-type]
    assert set_nodelay(Transport(None)) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_set_nodelay_sets_the_flag_on_tcp(family: socket.AddressFamily) -> None:
    class Transport:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def get_extra_info(self, name: str) -> Any:
            return self.sock

    with socket.socket(family, socket.SOCK_STREAM) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert set_nodelay(Transport(sock)) is True  # type: ignore[arg-type]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
