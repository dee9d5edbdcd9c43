"""The request guard: request id, API key, body limits and timeout, load shedding, access
log, metrics and the last-resort 500.

A pure ASGI middleware, in this order: the API key is checked before a byte of the body is
read; the body is read whole within `body_timeout` seconds (the size limit enforced while it
arrives: a client that sends 6 MB is stopped at 5 MB, not after); only then does the request
count against `max_in_flight`. So slow or unauthenticated clients cannot occupy the
service's capacity, and a response is never buffered.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
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


class Refusal(Exception):
    """A request answered with an error before it reaches the app."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; Refusal(413) as soon as it passes `limit`, 400 if not UTF-8."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise Refusal(400, "The client disconnected before the body was sent.")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"Request body is over the limit of {limit:,} bytes.")
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(
            400,
            f"Request body is not valid UTF-8 (bad byte at offset {exc.start}); send UTF-8 JSON.",
        ) from None
    return body


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then waits on the real one (disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class GuardMiddleware:
    """Request id, API key, 413/415 checks, body timeout, 429 when busy, JSON access log,
    metrics; turns any escape into a JSON 500."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        max_body_bytes: int,
        max_in_flight: int,
        api_key: bytes | None = None,
        body_timeout: float = 15.0,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_in_flight = max_in_flight
        self.api_key = api_key
        self.body_timeout = body_timeout
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

        counted = False
        try:
            try:
                self._check_head(scope, headers)
                body = await asyncio.wait_for(
                    read_body(receive, self.max_body_bytes), self.body_timeout
                )
                if scope["path"].startswith("/v1/"):
                    if self.in_flight >= self.max_in_flight:
                        raise Refusal(
                            429,
                            f"Too many requests in progress (limit {self.max_in_flight}); "
                            "retry shortly.",
                        )
                    self.in_flight += 1
                    counted = True
            except Refusal as refusal:
                extra = {"Retry-After": "1"} if refusal.status == 429 else None
                if refusal.status == 401:
                    extra = {"WWW-Authenticate": "ApiKey"}
                response = error_response(refusal.status, refusal.detail, rid, headers=extra)
                await response(scope, receive, send_with_id)
                return
            except TimeoutError:
                detail = f"The request body did not arrive within {self.body_timeout:g} s."
                await error_response(408, detail, rid, headers={"Connection": "close"})(
                    scope, receive, send_with_id
                )
                return
            await self.app(scope, replay(body, receive), send_with_id)
        except Exception as exc:
            log_unhandled(rid, _logged_path(scope), exc)
            self.metrics.unhandled.inc()
            if state["started"]:
                raise
            await error_response(500, "Internal error; it was logged.", rid)(
                scope, receive, send_with_id
            )
        finally:
            if counted:
                self.in_flight -= 1
            self._record(scope, state, rid, started)

    def _check_head(self, scope: Scope, headers: Headers) -> None:
        """Refusals decided from the request line and headers alone: 401 for a wrong or
        missing API key on /v1, 413 for a declared length over the limit, 415 for a
        non-JSON body."""
        v1 = scope["path"].startswith("/v1/")
        if v1 and self.api_key is not None:
            given = headers.get("x-api-key", "")
            if not given:
                raise Refusal(401, "Missing X-API-Key header.")
            if not hmac.compare_digest(given.encode("latin-1", "replace"), self.api_key):
                raise Refusal(401, "Invalid API key.")
        length, limit = headers.get("content-length", ""), self.max_body_bytes
        if length.isdigit() and int(length) > limit:
            raise Refusal(
                413, f"Request body of {int(length):,} bytes is over the limit of {limit:,}."
            )
        if scope["method"] in ("POST", "PUT", "PATCH") and v1:
            content_type = headers.get("content-type")
            if content_type is None:
                raise Refusal(415, "Missing Content-Type header; send application/json.")
            if not _is_json(content_type):
                raise Refusal(
                    415, f"Content-Type must be application/json, got {content_type[:80]!r}."
                )

    def _record(self, scope: Scope, state: dict[str, Any], rid: str, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        status = int(state["status"])
        self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - started)
        log_access(rid, scope["method"], _logged_path(scope), route, status, started)


def _logged_path(scope: Scope) -> str:
    """The path as the access log may show it: a matched route's template (a path parameter
    may hold message text, which is never logged), else the path cut short."""
    route = getattr(scope.get("route"), "path", None)
    if route:
        return str(route)
    return str(scope.get("path", ""))[:_PATH_LOG_MAX]
