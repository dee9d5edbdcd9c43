"""What the routes do, kept apart from HTTP: requests in, prediction dicts with tags out."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from custtype.advice import Advice, Assistant
from custtype.api.batching import Job, MicroBatcher
from custtype.api.observability import Metrics
from custtype.api.schemas import BatchItem, ClassifyRequest, ContextFields, check_message
from custtype.errors import InputError, StoreError
from custtype.helpdesk.feedback import shown
from custtype.store.records import Store
from custtype.strategy.automation import Action
from custtype.strategy.context import MessageContext

log = logging.getLogger("custtype.api")


def context_of(req: ContextFields, text: str | None) -> MessageContext:
    """The library's MessageContext from the request's context fields."""
    return MessageContext(
        text=text,
        channel=req.channel,
        repeat_contacts=req.repeat_contacts,
        public_exposure=req.public_exposure,
        legal_appeal=req.legal_appeal,
    )


def tags_for(result: dict[str, Any]) -> list[str]:
    """Helpdesk tags: the type or outcome, the confidence level, language, priority, escalation.

    Example: ``["custtype:extortionist", "custtype-confidence:high", "custtype-lang:pl", ...]``
    """
    outcome = result["outcome"]
    head = f"custtype:{result['type']}" if outcome == "type" else f"custtype:{outcome}"
    strategy = result["strategy"]
    tags = [
        head,
        f"custtype-confidence:{result['confidence_level']}",
        f"custtype-lang:{result['language']}",
        f"custtype-priority:{strategy['priority']}",
    ]
    if strategy["escalate"]:
        tags.append("custtype:escalate")
    return tags


def remember(
    store: Store | None, policy: str, items: list[tuple[Advice, str]]
) -> list[tuple[Advice, str | None]]:
    """Record each piece of advice in the store (one transaction) and give its prediction id.
    Without a store, or when it fails, no id, and no automated action: nothing would audit it."""
    if store is not None:
        try:
            ids = store.add_predictions([shown(a, text, policy, "api") for a, text in items])
            return [(a, pid) for (a, _), pid in zip(items, ids, strict=True)]
        except StoreError as exc:
            log.error(json.dumps({"event": "store_unavailable", "detail": str(exc)[:300]}))
    return [(_suggest_only(a), None) for a, _ in items]


def _suggest_only(advice: Advice) -> Advice:
    if not advice.action.automated:
        return advice
    return dataclasses.replace(advice, action=Action("suggest", None))


def _output(
    advice: Advice, customer_id: str | None, metrics: Metrics, prediction_id: str | None
) -> dict[str, Any]:
    metrics.observe_prediction(advice.outcome, advice.type, advice.language)
    out = advice.to_dict()
    out["tags"] = tags_for(out)
    out["customer_id"] = customer_id
    out["prediction_id"] = prediction_id
    return out


def classify_one(
    batcher: MicroBatcher,
    req: ClassifyRequest,
    metrics: Metrics,
    store: Store | None,
    policy: str,
) -> dict[str, Any]:
    """Classify one validated request (micro-batched with concurrent ones) and remember it;
    InputError → 422."""
    job = Job(req.text, req.lang, context_of(req, req.text), req.agent_lang)
    [(advice, pid)] = remember(store, policy, [(batcher.submit(job), req.text)])
    return _output(advice, req.customer_id, metrics, pid)


def _item_error(item: BatchItem, detail: str) -> dict[str, Any]:
    return {"id": item.id, "result": None, "error": {"code": "invalid_text", "detail": detail}}


def classify_batch(
    assistant: Assistant, items: list[BatchItem], metrics: Metrics, store: Store | None
) -> dict[str, Any]:
    """Classify a batch in order; an item that cannot be scored gets its own error."""
    results: dict[int, dict[str, Any]] = {}
    todo: list[tuple[int, BatchItem]] = []
    for i, item in enumerate(items):
        try:
            check_message(item.text, f"items[{i}].text")
        except ValueError as exc:
            results[i] = _item_error(item, str(exc))
            continue
        todo.append((i, item))
    advice = assistant.advise_each(
        [it.text for _, it in todo],
        [it.lang for _, it in todo],
        [context_of(it, it.text) for _, it in todo],
        [it.agent_lang for _, it in todo],
    )
    scored: list[tuple[int, BatchItem, Advice]] = []
    for (i, it), a in zip(todo, advice, strict=True):
        if isinstance(a, InputError):
            results[i] = _item_error(it, str(a))
        elif isinstance(a, Exception):
            raise a
        else:
            scored.append((i, it, a))
    kept = remember(store, assistant.automation.label, [(a, it.text) for _, it, a in scored])
    for (i, it, _), (a, pid) in zip(scored, kept, strict=True):
        results[i] = {
            "id": it.id,
            "result": _output(a, it.customer_id, metrics, pid),
            "error": None,
        }
    ordered = [results[i] for i in range(len(items))]
    return {
        "items": ordered,
        "count": len(ordered),
        "errors": sum(1 for r in ordered if r["error"] is not None),
        "model_version": assistant.version,
    }
