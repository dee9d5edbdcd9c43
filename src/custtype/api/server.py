"""`custtype serve`: check the model and playbook, then start uvicorn's workers.

Kept apart from the app so the supervisor process imports only this (not the model code):
each worker imports and loads everything itself, so what the supervisor loads first only
delays them (~0.8 s of `serve` to ready).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from custtype.api.settings import Settings
from custtype.errors import CusttypeError

KEEP_ALIVE_SECONDS = 75  # longer than the usual 60 s idle timeout of load balancers


def log_config() -> dict[str, Any]:
    """Uvicorn's logging plus custtype's JSON lines on stdout (uvicorn's access log is off)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json_line"] = {"format": "%(message)s"}
    config["handlers"]["custtype"] = {
        "class": "logging.StreamHandler",
        "formatter": "json_line",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["custtype"] = {"handlers": ["custtype"], "level": "INFO", "propagate": False}
    return config


def default_workers() -> int:
    """One worker per core this process may use: a single worker queues requests behind the
    one being scored (p99 333 ms at 200 req/s on 2 cores, against 16 ms with two)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def read_settings() -> Settings:
    """Settings from the CUSTTYPE_* variables; a bad value is a one-line error naming it."""
    from pydantic import ValidationError

    from custtype.validation import describe

    try:
        return Settings()
    except ValidationError as exc:
        where = lambda loc: f"CUSTTYPE_{'_'.join(loc).upper()}"  # noqa: E731
        raise CusttypeError(f"Invalid setting: {describe(exc, where)}.") from None


def _preflight(settings: Settings) -> None:
    """Fail before forking workers when the model, playbook, automation policy or store
    cannot be used (CusttypeError); the store's migrations run here, once."""
    from custtype.model.artifact import default_model_dir, read_card
    from custtype.store.records import Store
    from custtype.strategy.automation import load_automation
    from custtype.strategy.playbook import load_playbook

    load_playbook(settings.playbook)
    load_automation(settings.automation)
    read_card(settings.model if settings.model is not None else default_model_dir())
    if settings.remember:
        Store.open().close()


def serve(
    host: str,
    port: int,
    workers: int,
    model: Path | None,
    playbook: Path | None,
    automation: Path | None = None,
) -> None:
    """Run the API and the agent page with uvicorn (settings also from CUSTTYPE_* variables)."""
    import uvicorn

    from custtype.api.protocol import NoDelayHttpProtocol

    if model is not None:
        os.environ["CUSTTYPE_MODEL"] = str(model)
    if playbook is not None:
        os.environ["CUSTTYPE_PLAYBOOK"] = str(playbook)
    if automation is not None:
        os.environ["CUSTTYPE_AUTOMATION"] = str(automation)
    _preflight(read_settings())
    uvicorn.run(
        "custtype.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=log_config(),
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        http=NoDelayHttpProtocol,
    )
