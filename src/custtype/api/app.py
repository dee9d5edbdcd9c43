"""The FastAPI app factory, its lifespan (the model loads once) and `custtype serve`."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from custtype import __version__
from custtype.advice import Assistant
from custtype.api import errors
from custtype.api.batching import MicroBatcher
from custtype.api.middleware import GuardMiddleware
from custtype.api.observability import Metrics
from custtype.api.protocol import NoDelayHttpProtocol
from custtype.api.routes import (
    classify_router,
    feedback_router,
    ops_router,
    reference_router,
    require_api_key,
)
from custtype.api.settings import Settings, read_settings
from custtype.model.memory import freeze_memory
from custtype.resources import resource
from custtype.store.records import Store
from custtype.taxonomy import RESPONSIBLE_USE

log = logging.getLogger("custtype.api")
STATIC_DIR = Path(str(resource("static")))
_WARMUP = (
    "Здравствуйте, подскажите, где мой заказ?",
    "Dzień dobry, gdzie jest moje zamówienie?",
    "Hello, could you tell me where my order is?",
)
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
DESCRIPTION = (
    "Customer type and service strategy for support messages in Russian, Polish and English.\n\n"
    f"**Responsible use:** {RESPONSIBLE_USE} Message text is never logged."
)


def load_assistant(settings: Settings) -> Assistant:
    """Load the model and playbook named by the settings, then score one message per language."""
    assistant = Assistant.load(
        settings.model, playbook=settings.playbook, automation=settings.automation
    )
    if settings.warmup:
        assistant.advise(list(_WARMUP))
    freeze_memory()
    return assistant


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model once (in a worker thread) before the first request; drop it at shutdown."""
    settings: Settings = app.state.settings
    assistant: Assistant | None = app.state.preloaded
    if assistant is None:
        assistant = await anyio.to_thread.run_sync(load_assistant, settings)
    batcher = MicroBatcher(
        assistant, max_batch=settings.micro_batch, on_batch=app.state.metrics.batch_size.observe
    )
    store = await anyio.to_thread.run_sync(Store.open) if settings.remember else None
    app.state.assistant, app.state.batcher, app.state.store = assistant, batcher, store
    app.state.metrics.model_info.labels(assistant.version).set(1)
    log.info(json.dumps({"event": "model_loaded", "model_version": assistant.version}))
    try:
        yield
    finally:
        if app.state.batcher is batcher:
            app.state.assistant, app.state.batcher, app.state.store = None, None, None
        await anyio.to_thread.run_sync(batcher.close)
        if store is not None:
            store.close()


def _page() -> HTMLResponse:
    return HTMLResponse(STATIC_DIR.joinpath("index.html").read_text("utf-8"), headers=_PAGE_HEADERS)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """Build the app; the model is loaded when the lifespan starts (`with TestClient(app)`).

    `assistant` skips loading (tests, or an app embedded beside other code that has one).

    Example: ``uvicorn.run(create_app(Settings(api_key="s3cret")))``
    """
    settings = settings or read_settings()
    NoDelayHttpProtocol.head_timeout = settings.head_timeout  # (one protocol per process)
    app = FastAPI(
        title="custtype",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.assistant = None
    app.state.batcher = None
    app.state.store = None
    app.state.preloaded = assistant
    errors.install(app)
    guarded = [Depends(require_api_key)]
    app.include_router(classify_router, dependencies=guarded)
    app.include_router(reference_router, dependencies=guarded)
    app.include_router(feedback_router, dependencies=guarded)
    app.include_router(ops_router)
    app.add_api_route("/", _page, include_in_schema=False, response_class=HTMLResponse)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.origins():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.origins(),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(
        GuardMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        max_in_flight=settings.max_in_flight,
        api_key=settings.key_bytes(),
        body_timeout=settings.body_timeout,
    )
    return app
