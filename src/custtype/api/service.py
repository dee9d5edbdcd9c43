"""What the routes do, kept apart from HTTP: requests in, prediction dicts with tags out."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..errors import InputError
from ..model import Classifier, Prediction
from ..recommend import MessageContext
from .batching import Job, MicroBatcher
from .observability import Metrics
from .schemas import BatchItem, ClassifyRequest, ContextFields, check_message


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


def _output(pred: Prediction, customer_id: str | None, metrics: Metrics) -> dict[str, Any]:
    metrics.observe_prediction(pred.outcome, pred.type, pred.language)
    out = pred.to_dict()
    out["tags"] = tags_for(out)
    out["customer_id"] = customer_id
    return out


def classify_one(batcher: MicroBatcher, req: ClassifyRequest, metrics: Metrics) -> dict[str, Any]:
    """Classify one validated request (micro-batched with concurrent ones); InputError → 422."""
    job = Job(req.text, req.lang, context_of(req, req.text), req.agent_lang)
    return _output(batcher.submit(job), req.customer_id, metrics)


def _item_error(item: BatchItem, detail: str) -> dict[str, Any]:
    return {"id": item.id, "result": None, "error": {"code": "invalid_text", "detail": detail}}


def _predict_group(
    clf: Classifier, items: list[tuple[int, BatchItem]], agent_lang: str | None, metrics: Metrics
) -> dict[int, dict[str, Any]]:
    """Score items sharing an agent language in one call; on an input error, one by one."""
    try:
        preds = clf.predict(
            [it.text for _, it in items],
            lang=[it.lang for _, it in items],
            contexts=[context_of(it, it.text) for _, it in items],
            agent_lang=agent_lang,
        )
    except InputError:
        if len(items) == 1:
            raise
        out: dict[int, dict[str, Any]] = {}
        for pair in items:
            try:
                out.update(_predict_group(clf, [pair], agent_lang, metrics))
            except InputError as exc:
                out[pair[0]] = _item_error(pair[1], str(exc))
        return out
    return {
        i: {"id": it.id, "result": _output(p, it.customer_id, metrics), "error": None}
        for (i, it), p in zip(items, preds, strict=True)
    }


def classify_batch(clf: Classifier, items: list[BatchItem], metrics: Metrics) -> dict[str, Any]:
    """Classify a batch in order; an item that cannot be scored gets its own error."""
    results: dict[int, dict[str, Any]] = {}
    groups: dict[str | None, list[tuple[int, BatchItem]]] = defaultdict(list)
    for i, item in enumerate(items):
        try:
            check_message(item.text, f"items[{i}].text")
        except ValueError as exc:
            results[i] = _item_error(item, str(exc))
            continue
        groups[item.agent_lang].append((i, item))
    for agent_lang, members in groups.items():
        try:
            results.update(_predict_group(clf, members, agent_lang, metrics))
        except InputError as exc:
            results[members[0][0]] = _item_error(members[0][1], str(exc))
    ordered = [results[i] for i in range(len(items))]
    return {
        "items": ordered,
        "count": len(ordered),
        "errors": sum(1 for r in ordered if r["error"] is not None),
        "model_version": clf.version,
    }
