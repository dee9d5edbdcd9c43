"""The request guard: request id, access log, metrics, body limits and the last-resort 500.

A pure ASGI middleware, so the body limit is enforced while the body is read (a client that
sends 6 MB is stopped at 5 MB, not after), and a response is never buffered.
"""

from __future__ import annotations

import codecs
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custtype.api.errors import error_response
from custtype.api.observability import Metrics, log_access, log_unhandled

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_JSON_TYPES = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")
_PATH_LOG_MAX = 200


def request_id_of(headers: Headers) -> str:
    """The caller's X-Request-ID when it is a safe token, else a new random id."""
    given = headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _is_json(content_type: str) -> bool:
    return bool(_JSON_TYPES.match(content_type.split(";", 1)[0].strip().lower()))


class BodyReader:
    """Wraps `receive`: counts bytes against the limit and checks UTF-8 as chunks arrive."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._size = 0
        self._utf8 = codecs.getincrementaldecoder("utf-8")()

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        chunk: bytes = message.get("body", b"")
        self._size += len(chunk)
        if self._size > self._limit:
            raise HTTPException(413, f"Request body is over the limit of {self._limit:,} bytes.")
        try:
            self._utf8.decode(chunk, final=not message.get("more_body", False))
        except UnicodeDecodeError as exc:
            at = self._size - len(chunk) + exc.start
            raise HTTPException(
                400, f"Request body is not valid UTF-8 (bad byte at offset {at}); send UTF-8 JSON."
            ) from None
        return message


class GuardMiddleware:
    """Request id, 413/415 checks, JSON access log, metrics; turns any escape into a JSON 500."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, max_body_bytes: int, max_in_flight: int
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_in_flight = max_in_flight
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        rid = request_id_of(headers)
        scope.setdefault("state", {})["request_id"] = rid
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        counted = scope["path"].startswith("/v1/")
        self.in_flight += counted
        try:
            refusal = self._refuse(scope, headers)
            if refusal is not None:
                status, detail = refusal
                retry = {"Retry-After": "1"} if status == 429 else None
                response = error_response(status, detail, rid, headers=retry)
                await response(scope, receive, send_with_id)
            else:
                reader = BodyReader(receive, self.max_body_bytes)
                await self.app(scope, reader, send_with_id)
        except Exception as exc:
            log_unhandled(rid, scope.get("path", "")[:_PATH_LOG_MAX], exc)
            self.metrics.unhandled.inc()
            if state["started"]:
                raise
            await error_response(500, "Internal error; it was logged.", rid)(
                scope, receive, send_with_id
            )
        finally:
            self.in_flight -= counted
            self._record(scope, state, rid, started)

    def _refuse(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        """413 for a declared length over the limit, 415 for a non-JSON body, 429 when busy."""
        if self.in_flight > self.max_in_flight:
            return (
                429,
                f"Too many requests in progress (limit {self.max_in_flight}); retry shortly.",
            )
        length, limit = headers.get("content-length", ""), self.max_body_bytes
        if length.isdigit() and int(length) > limit:
            return 413, f"Request body of {int(length):,} bytes is over the limit of {limit:,}."
        if scope["method"] in ("POST", "PUT", "PATCH") and scope["path"].startswith("/v1/"):
            content_type = headers.get("content-type")
            if content_type is None:
                return 415, "Missing Content-Type header; send application/json."
            if not _is_json(content_type):
                return 415, f"Content-Type must be application/json, got {content_type[:80]!r}."
        return None

    def _record(self, scope: Scope, state: dict[str, Any], rid: str, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        status = int(state["status"])
        self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - started)
        path = scope.get("path", "")[:_PATH_LOG_MAX]
        log_access(rid, scope["method"], path, route, status, started)
