"""HTTP routes, grouped by resource. They parse, call the library, format; nothing more."""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any, cast

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from custtype.advice import Assistant
from custtype.api import service
from custtype.api.batching import MicroBatcher
from custtype.api.observability import Metrics
from custtype.api.schemas import (
    BatchRequest,
    BatchResponse,
    ClassifyRequest,
    ClassifyResponse,
    ErrorResponse,
    FeedbackQuality,
    FeedbackRequest,
    FeedbackResponse,
    FeedbackSummary,
    Health,
    LangCode,
    RecommendRequest,
    TicketReply,
    TypeInfo,
    TypesResponse,
)
from custtype.api.settings import Settings
from custtype.errors import FeedbackError, InputError, StoreError, UnknownTypeError
from custtype.helpdesk.feedback import summarise
from custtype.helpdesk.quality import quality
from custtype.helpdesk.webhook import SIGNATURE_HEADER, adapt, handle_ticket, signature_ok
from custtype.store.records import Store
from custtype.strategy.rules import Recommendation, recommend
from custtype.taxonomy import CHANNELS, LABELS, LANGS, TYPES, type_name

_JSON = "application/json"
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 413, 415, 422, 429)
}
_STORE_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 503)
}


async def get_assistant(request: Request) -> Assistant:
    """The model and playbook loaded by the lifespan handler."""
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None:
        raise HTTPException(503, "The model is not loaded yet; retry shortly.")
    return cast(Assistant, assistant)


async def get_batcher(request: Request) -> MicroBatcher:
    """The micro-batcher started by the lifespan handler."""
    batcher = getattr(request.app.state, "batcher", None)
    if batcher is None:
        raise HTTPException(503, "The model is not loaded yet; retry shortly.")
    return cast(MicroBatcher, batcher)


async def get_store(request: Request) -> Store:
    """The feedback store opened by the lifespan handler (404 when CUSTTYPE_REMEMBER is off)."""
    if not cast(Settings, request.app.state.settings).remember:
        raise HTTPException(404, "Feedback is off on this server (CUSTTYPE_REMEMBER=false).")
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(503, "The feedback store is not open yet; retry shortly.")
    return cast(Store, store)


def optional_store(request: Request) -> Store | None:
    """The store when predictions are remembered, else None."""
    return cast(Store | None, getattr(request.app.state, "store", None))


async def get_metrics(request: Request) -> Metrics:
    """The app's metrics registry."""
    return cast(Metrics, request.app.state.metrics)


async def require_api_key(
    request: Request, key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """When CUSTTYPE_API_KEY is set, /v1/* needs the same value in X-API-Key (constant time)."""
    expected = cast(Settings, request.app.state.settings).key_bytes()
    if expected is None:
        return
    if not key:
        raise HTTPException(
            401, "Missing X-API-Key header.", headers={"WWW-Authenticate": "ApiKey"}
        )
    if not hmac.compare_digest(key.encode("latin-1"), expected):
        raise HTTPException(401, "Invalid API key.", headers={"WWW-Authenticate": "ApiKey"})


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
StoreDep = Annotated[Store, Depends(get_store)]

classify_router = APIRouter(prefix="/v1", tags=["classify"], responses=_ERRORS)
reference_router = APIRouter(prefix="/v1", tags=["types and strategies"], responses=_ERRORS)
feedback_router = APIRouter(
    prefix="/v1", tags=["feedback and helpdesk"], responses={**_ERRORS, **_STORE_ERRORS}
)
ops_router = APIRouter(tags=["operations"])


@classify_router.post("/classify", response_model=ClassifyResponse)
def classify(
    body: ClassifyRequest,
    batcher: BatcherDep,
    assistant: AssistantDep,
    metrics: MetricsDep,
    request: Request,
) -> Response:
    """Classify one message: type, confidence, evidence, strategy, the action the automation
    policy allows, helpdesk tags and the prediction id to send feedback about.

    The type is an internal aid for the agent: never show it to the customer.
    """
    store, policy = optional_store(request), assistant.automation.label
    try:
        out = service.classify_one(batcher, body, metrics, store, policy)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    # validated and serialised here, in this worker thread: for a dict FastAPI would do it in
    # one more thread-pool round trip (~0.1 ms of CPU a request on this 2-core machine)
    return Response(ClassifyResponse.model_validate(out).model_dump_json(), media_type=_JSON)


@classify_router.post("/classify/batch", response_model=BatchResponse)
def classify_batch(
    body: BatchRequest, assistant: AssistantDep, metrics: MetricsDep, request: Request
) -> dict[str, Any]:
    """Classify up to 1,000 messages; order kept, ids echoed, a bad text gets a per-item error."""
    limit = cast(Settings, request.app.state.settings).max_batch_items
    if len(body.items) > limit:
        raise HTTPException(422, f"items: at most {limit} items per batch, got {len(body.items)}.")
    return service.classify_batch(assistant, body.items, metrics, optional_store(request))


@feedback_router.post("/feedback", status_code=201, response_model=FeedbackResponse)
def feedback(body: FeedbackRequest, store: StoreDep) -> dict[str, Any]:
    """An agent confirms a prediction, corrects it to another label, or is not sure."""
    try:
        fid, label = store.add_feedback(
            body.prediction_id, body.verdict, body.label, body.agent_id, source=body.source
        )
    except FeedbackError as exc:
        unknown = str(exc).startswith("prediction_id")
        raise HTTPException(404 if unknown else 422, str(exc)) from None
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from None
    return {
        "feedback_id": fid,
        "prediction_id": body.prediction_id,
        "verdict": body.verdict,
        "label": label,
    }


@feedback_router.get("/feedback/summary", response_model=FeedbackSummary)
def feedback_summary(store: StoreDep) -> dict[str, Any]:
    """Per predicted label: shown, confirmed, corrected (to what), unsure."""
    rows = store.latest_verdicts()
    return {
        "types": [s.to_dict() for s in summarise(rows)],
        "by_language": [s.to_dict() for s in summarise(rows, by_language=True)],
    }


@feedback_router.get("/feedback/quality", response_model=FeedbackQuality)
def feedback_quality(store: StoreDep) -> dict[str, Any]:
    """The quality dashboard's figures: per type and language, the model's confidence against
    agents' verdicts, and the type mix week by week."""
    return quality(store.latest_verdicts()).to_dict()


@feedback_router.post(
    "/webhooks/ticket",
    response_model=TicketReply,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "A ticket: custtype's shape, a Zendesk trigger's or a Freshdesk "
            "automation's (docs/feedback.md).",
        }
    },
)
async def ticket_webhook(
    request: Request, assistant: AssistantDep, store: StoreDep
) -> JSONResponse:
    """Tags, allowed action and strategy for a helpdesk ticket; the same ticket id again is
    answered from the store (header X-Custtype-Replay: true), not scored again."""
    body = await request.body()
    secret = cast(Settings, request.app.state.settings).webhook_key()
    if secret is not None and not signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise HTTPException(401, f"Missing or wrong {SIGNATURE_HEADER} (sha256=<hex HMAC>).")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"body: not valid JSON ({exc}).") from None
    try:
        ticket = adapt(payload)
        reply, replay = await anyio.to_thread.run_sync(handle_ticket, assistant, store, ticket)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    except StoreError as exc:
        raise HTTPException(503, str(exc)) from None
    return JSONResponse(reply, headers={"X-Custtype-Replay": "true" if replay else "false"})


@reference_router.get("/types", response_model=TypesResponse)
def types(assistant: AssistantDep) -> dict[str, Any]:
    """The seven types with their names in ru/pl/en, plus the none/undetermined names."""
    return {
        "types": [TypeInfo(key=t, names={c: type_name(t, c) for c in LANGS}) for t in TYPES],
        "none": {c: type_name("none", c) for c in LANGS},
        "undetermined": {c: type_name(None, c) for c in LANGS},
        "labels": list(LABELS),
        "langs": list(LANGS),
        "channels": list(CHANNELS),
        "notice": dict(assistant.playbook.notice),
    }


@reference_router.get("/strategies/{type_key}", response_model=Recommendation)
def strategy(
    type_key: Annotated[str, Path(description="A type key or 'none'.", max_length=64)],
    assistant: AssistantDep,
    lang: Annotated[LangCode, Query(description="Language of the strategy.")] = "en",
) -> Recommendation:
    """The strategy for a type (no context rules applied)."""
    try:
        return recommend(type_key, lang, playbook=assistant.playbook)
    except UnknownTypeError as exc:
        raise HTTPException(404, str(exc)) from None


@reference_router.post("/recommend", response_model=Recommendation)
def recommend_route(body: RecommendRequest, assistant: AssistantDep) -> Recommendation:
    """The strategy for a type given the context of the contact (channel, repeats, flags)."""
    try:
        return recommend(
            body.type, body.lang, service.context_of(body, body.text), playbook=assistant.playbook
        )
    except UnknownTypeError as exc:
        raise HTTPException(422, f"type: {exc}") from None


@ops_router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Health:
    """Alive: the process answers (with the model's version once it is loaded)."""
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None:
        return Health(status="ok")
    return Health(
        status="ok",
        model_version=assistant.version,
        playbook_version=assistant.playbook.version,
    )


@ops_router.get("/readyz", response_model=Health, responses={503: {"model": ErrorResponse}})
async def readyz(assistant: AssistantDep) -> Health:
    """Ready: the model is loaded (503 before that)."""
    return Health(
        status="ready", model_version=assistant.version, playbook_version=assistant.playbook.version
    )


@ops_router.get("/metrics", include_in_schema=False)
async def metrics(m: MetricsDep) -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
