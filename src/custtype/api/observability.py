"""Prometheus metrics and the structured JSON access log (never with message text)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from custtype.taxonomy import LANGS

ACCESS_LOGGER = "custtype.api.access"
ERROR_LOGGER = "custtype.api.error"
_BUCKETS = (0.002, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

access_log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger(ERROR_LOGGER)


@dataclass
class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "custtype_http_requests", "HTTP requests.", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "custtype_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "custtype_predictions",
            "Messages classified, by outcome, type and language.",
            ["outcome", "type", "language"],
            registry=r,
        )
        self.batch_size = Histogram(
            "custtype_microbatch_size",
            "Single-message requests scored together in one model call.",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.unhandled = Counter(
            "custtype_unhandled_errors", "Requests that ended in the last-resort 500.", registry=r
        )
        self.model_info = Gauge(
            "custtype_model_info", "The loaded model (value 1).", ["version"], registry=r
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_prediction(self, outcome: str, type_key: str | None, language: str) -> None:
        """Count one classified message (language outside ru/pl/en counts as 'other')."""
        lang = language if language in LANGS else "other"
        self.predictions.labels(outcome, type_key or outcome, lang).inc()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def log_access(
    request_id: str, method: str, path: str, route: str, status: int, started: float
) -> None:
    """One JSON line per request: id, method, path, route, status, latency; no body, no query."""
    record: dict[str, Any] = {
        "ts": _now(),
        "event": "request",
        "request_id": request_id,
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    access_log.info(json.dumps(record, ensure_ascii=True))


def log_unhandled(request_id: str, path: str, exc: BaseException) -> None:
    """Log an unexpected error by type and code location only: its message may hold user text."""
    tb = exc.__traceback__
    frames: list[str] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append(f"{code.co_filename}:{tb.tb_lineno}:{code.co_name}")
        tb = tb.tb_next
    record = {
        "ts": _now(),
        "event": "unhandled_error",
        "request_id": request_id,
        "path": path,
        "error_type": type(exc).__name__,
        "where": frames[-5:],
    }
    error_log.error(json.dumps(record, ensure_ascii=True))
