"""What the routes do, kept apart from HTTP: requests in, prediction dicts with tags out."""

from __future__ import annotations

from typing import Any

from custtype.advice import Advice, Assistant
from custtype.api.batching import Job, MicroBatcher
from custtype.api.observability import Metrics
from custtype.api.schemas import BatchItem, ClassifyRequest, ContextFields, check_message
from custtype.errors import InputError
from custtype.strategy.context import MessageContext


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


def _output(advice: Advice, customer_id: str | None, metrics: Metrics) -> dict[str, Any]:
    metrics.observe_prediction(advice.outcome, advice.type, advice.language)
    out = advice.to_dict()
    out["tags"] = tags_for(out)
    out["customer_id"] = customer_id
    return out


def classify_one(batcher: MicroBatcher, req: ClassifyRequest, metrics: Metrics) -> dict[str, Any]:
    """Classify one validated request (micro-batched with concurrent ones); InputError → 422."""
    job = Job(req.text, req.lang, context_of(req, req.text), req.agent_lang)
    return _output(batcher.submit(job), req.customer_id, metrics)


def _item_error(item: BatchItem, detail: str) -> dict[str, Any]:
    return {"id": item.id, "result": None, "error": {"code": "invalid_text", "detail": detail}}


def classify_batch(
    assistant: Assistant, items: list[BatchItem], metrics: Metrics
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
    for (i, it), a in zip(todo, advice, strict=True):
        if isinstance(a, InputError):
            results[i] = _item_error(it, str(a))
        elif isinstance(a, Exception):
            raise a
        else:
            results[i] = {"id": it.id, "result": _output(a, it.customer_id, metrics), "error": None}
    ordered = [results[i] for i in range(len(items))]
    return {
        "items": ordered,
        "count": len(ordered),
        "errors": sum(1 for r in ordered if r["error"] is not None),
        "model_version": assistant.version,
    }
