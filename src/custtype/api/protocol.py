"""Uvicorn's httptools protocol with Nagle's algorithm off and a bounded request head.

With `--workers N` uvicorn binds the listening socket itself with `proto` 0, and asyncio only
sets TCP_NODELAY on sockets that report IPPROTO_TCP (uvicorn issue #3149). Nagle then holds
the second segment of a response on a keep-alive connection until the client's delayed ACK:
~40 ms on Linux, measured here as p50 1.6 ms with one worker and 44 ms with two.

httptools (a C parser) rather than h11 (pure Python): ~0.2 ms less server CPU per request,
on a 2-core machine where a request costs 3-5 ms in all. Unlike uvicorn's h11 protocol it
puts no limit on the request line and headers, so this one does (431, connection closed),
and no time limit on them either, so this one does (408 after `head_timeout` seconds: a
client that trickles its headers cannot hold a connection open forever).
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from custtype.api.errors import error_response

MAX_HEAD_BYTES = 64 * 1024  # request line + headers (h11's own limit is 16 KiB)
HEAD_TIMEOUT = 10.0  # seconds from a connection (or a request's first byte) to its last header


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Turn Nagle off on a TCP transport's socket; False for other sockets (e.g. Unix)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return True


class NoDelayHttpProtocol(HttpToolsProtocol):
    """httptools as uvicorn runs it, plus TCP_NODELAY however the listening socket was made,
    and a 431 for a request line and headers over MAX_HEAD_BYTES: counted once they are
    parsed, and while they are still arriving (after each chunk the parser has taken, so
    what it buffers stays within the limit plus one read)."""

    head_timeout = HEAD_TIMEOUT  # (CUSTTYPE_HEAD_TIMEOUT, set by `serve`)
    _in_head = False  # the parser is inside a request's line and headers
    _head_bytes = 0  # bytes received while it was
    _too_large = False
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        """408, then close: the request line and headers did not arrive in time."""
        self._head_timer = None
        if not self.transport.is_closing():
            detail = f"The request line and headers did not arrive within {self.head_timeout:g} s."
            self._write_error(408, b"Request Timeout", detail)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes = True, 0
        self._arm_head_timer()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
        if size > MAX_HEAD_BYTES:
            # raised in a parser callback, this reaches uvicorn as HttpParserError, which it
            # answers with send_400_response: replaced below by the 431
            self._too_large = True
            raise ValueError("request head over the limit")
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse_head()
        else:
            super().send_400_response(msg)

    def _refuse_head(self) -> None:
        """431 with custtype's JSON error body, then close (the head is never finished)."""
        detail = f"Request line and headers are over the limit of {MAX_HEAD_BYTES:,} bytes."
        self._write_error(431, b"Request Header Fields Too Large", detail)

    def _write_error(self, status: int, reason: bytes, detail: str) -> None:
        """An error response in the API's one error shape, then close the connection."""
        self._disarm_head_timer()
        body = bytes(error_response(status, detail, None).body)
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self.transport.close()
