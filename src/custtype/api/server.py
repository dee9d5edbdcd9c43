"""`custtype serve`: load the app once, then serve it from this process or forked workers.

Loading before forking makes a bad model, playbook, policy or store fail before any worker
starts, lets the workers share the loaded model's memory, and has them ready together.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from custtype.api.settings import Settings, read_settings

log = logging.getLogger("custtype.api")
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


def _preload(settings: Settings) -> Any:
    """The app with its model, playbook and automation policy loaded and warmed up, and the
    store's migrations applied, once, before any worker exists (CusttypeError if one of them
    cannot be used)."""
    from custtype.api.app import create_app, load_assistant
    from custtype.store.records import Store

    assistant = load_assistant(settings)
    if settings.remember:
        Store.open().close()
    return create_app(settings, assistant)


def _uvicorn_options() -> dict[str, Any]:
    from custtype.api.protocol import NoDelayHttpProtocol

    return {
        "http": NoDelayHttpProtocol,  # else --workers 2 answers ~40 ms late (Nagle)
        "access_log": False,  # message text must never reach a log
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def _run_one(app: Any, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_config=log_config(), **_uvicorn_options())


def _run_forked(settings: Settings, host: str, port: int, workers: int) -> None:
    """gunicorn's pre-fork supervisor with uvicorn workers: the workers are forked from this
    process after the app is loaded, so they start serving at once and share the model's
    memory (copy-on-write) instead of each importing and loading it (2 workers: 551 MB in
    all instead of 922 MB, and half the CPU at start-up). SIGHUP loads the model, playbook
    and policy again from disk and replaces the workers; if they cannot be loaded, the
    running app is kept and the reason logged."""
    import logging.config

    from gunicorn.app.base import BaseApplication
    from uvicorn_worker import UvicornWorker

    from custtype.errors import CusttypeError

    options = _uvicorn_options()

    class Worker(UvicornWorker):  # type: ignore[misc]
        CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto", **options}

    class Supervisor(BaseApplication):  # type: ignore[misc]
        def __init__(self) -> None:
            self.loaded = _preload(settings)  # a bad model stops here, before any worker
            super().__init__()

        def load_config(self) -> None:
            bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # IPv6 in brackets
            self.cfg.set("bind", [bind])
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", Worker)
            self.cfg.set("keepalive", options["timeout_keep_alive"])
            self.cfg.set("proc_name", "custtype")
            self.cfg.set("preload_app", True)
            self.cfg.set("timeout", 120)  # a worker silent this long is restarted
            self.cfg.set("control_socket_disable", True)  # no socket in the user's home
            if os.path.isdir("/dev/shm"):  # the workers' heartbeat files: never on disk
                self.cfg.set("worker_tmp_dir", "/dev/shm")

        def load(self) -> Any:
            return self.loaded

        def reload(self) -> None:
            super().reload()
            try:  # (the replaced app is freed: nothing else refers to it)
                self.loaded = self.callable = _preload(read_settings())
            except CusttypeError as exc:
                log.error(json.dumps({"event": "reload_refused", "reason": str(exc)}))

    logging.config.dictConfig(log_config())  # inherited by the workers
    Supervisor().run()


def _run_spawned(host: str, port: int, workers: int) -> None:
    """uvicorn's own workers, each loading the app itself: where processes cannot fork."""
    import uvicorn

    uvicorn.run(
        "custtype.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(),
        **_uvicorn_options(),
    )


def serve(
    host: str,
    port: int,
    workers: int,
    model: Path | None,
    playbook: Path | None,
    automation: Path | None = None,
) -> None:
    """Run the API and the agent page (settings also from CUSTTYPE_* variables): the app is
    loaded here, then served by this process (one worker) or by forked workers."""
    if model is not None:
        os.environ["CUSTTYPE_MODEL"] = str(model)
    if playbook is not None:
        os.environ["CUSTTYPE_PLAYBOOK"] = str(playbook)
    if automation is not None:
        os.environ["CUSTTYPE_AUTOMATION"] = str(automation)
    settings = read_settings()
    if workers == 1:
        _run_one(_preload(settings), host, port)
    elif hasattr(os, "fork"):
        _run_forked(settings, host, port, workers)
    else:  # Windows, where gunicorn cannot run: check that the app loads, then spawn
        _preload(settings)
        _run_spawned(host, port, workers)
