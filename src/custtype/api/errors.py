"""One JSON shape for every error, and handlers that name the problem without echoing input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from custtype.errors import CusttypeError, UnknownTypeError

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    408: "request_timeout",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    431: "request_header_fields_too_large",
    500: "internal_error",
    503: "not_ready",
}
_MAX_LISTED = 10
_MAX_ERRORS = 100


def error_response(
    status: int,
    detail: str,
    request_id: str | None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The error body: {"error": code, "detail": message, "request_id", "errors"?}."""
    body: dict[str, Any] = {
        "error": _CODES.get(status, "error"),
        "detail": detail,
        "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _rid(request: Request) -> str | None:
    rid = request.scope.get("state", {}).get("request_id")
    return str(rid) if rid is not None else None


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def _where(loc: list[str | int]) -> str:
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    return ".".join(str(p) for p in parts) or str(loc[0] if loc else "request")


def _message(err: dict[str, Any], body: Any) -> str:
    """A readable message for one pydantic/FastAPI error, never quoting the input value."""
    kind = err.get("type", "")
    loc = _loc(err.get("loc", ()))
    if kind == "json_invalid":
        pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        reason = (err.get("ctx") or {}).get("error", "malformed JSON")
        if isinstance(body, str):
            line = body.count("\n", 0, pos) + 1
            col = pos - (body.rfind("\n", 0, pos) + 1) + 1
            return f"Invalid JSON at line {line}, column {col}: {reason}."
        return f"Invalid JSON at character {pos}: {reason}."
    if kind == "missing" and loc == ["body"]:
        return "Request body is missing; send a JSON object."
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{_where(loc)}: {msg}"


def clean_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors without the `input`/`ctx` fields (they would echo customer text)."""
    return [
        {
            "loc": _loc(e.get("loc", ())),
            "msg": str(e.get("msg", "")).removeprefix("Value error, "),
            "type": str(e.get("type", "")),
        }
        for e in errors[:_MAX_ERRORS]
    ]


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each field that is wrong (first few in `detail`, all in `errors`)."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    body = getattr(exc, "body", None)
    messages = [_message(e, body) for e in errors[:_MAX_LISTED]]
    more = f" (and {len(errors) - _MAX_LISTED} more)" if len(errors) > _MAX_LISTED else ""
    status = 400 if errors and errors[0].get("type") == "json_invalid" else 422
    return error_response(status, "; ".join(messages) + more, _rid(request), clean_errors(errors))


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """4xx raised by routing or by us, in the common error shape."""
    assert isinstance(exc, HTTPException)
    detail = str(exc.detail)
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, RecursionError):
        detail = "Request body JSON is nested too deeply."
    elif exc.status_code == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}."
    elif exc.status_code == 404 and detail == "Not Found":
        detail = f"No such endpoint: {request.url.path[:200]}. See /docs for the API."
    response = error_response(exc.status_code, detail, _rid(request))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def on_library_error(request: Request, exc: Exception) -> JSONResponse:
    """A library error that slipped past a route: 404 for an unknown type, else 422."""
    status = 404 if isinstance(exc, UnknownTypeError) else 422
    return error_response(status, str(exc), _rid(request))


async def on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    """Last resort (the guard middleware normally answers first): a JSON 500."""
    return error_response(500, "Internal error; it was logged.", _rid(request))


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(CusttypeError, on_library_error)
    app.add_exception_handler(Exception, on_unhandled)


__all__ = ["clean_errors", "error_response", "install"]
