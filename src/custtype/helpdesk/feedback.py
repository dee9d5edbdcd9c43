"""Remembering what agents were shown and what they answered: from the API, the agent page
or a helpdesk export (`custtype feedback import`), and the summary per type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from custtype.advice import Advice
from custtype.errors import CusttypeError, FeedbackError
from custtype.store.records import UNDETERMINED, Shown, Store, now
from custtype.taxonomy import LABELS
from custtype.text.language import detect_language


def predicted_label(advice: Advice) -> str:
    """What the store records as predicted: the type, "none" or "undetermined"."""
    if advice.outcome == "type" and advice.type:
        return advice.type
    return advice.outcome if advice.outcome == "none" else UNDETERMINED


def shown(advice: Advice, text: str, policy: str, source: str, ticket: str | None = None) -> Shown:
    """The record of one piece of advice as it was shown."""
    return Shown(
        text=text,
        language=advice.language,
        predicted=predicted_label(advice),
        confidence=float(advice.confidence),
        action=advice.action.level,
        automated=advice.action.automated,
        model_version=advice.model_version,
        policy_version=policy,
        source=source,
        ticket_id=ticket,
        queue=advice.action.queue,
    )


def remember(store: Store, advice: Advice, text: str, policy: str, source: str = "api") -> str:
    """Record a prediction shown to an agent (automated actions audited); its id."""
    return store.add_prediction(shown(advice, text, policy, source))


class TypeSummary(BaseModel):
    """How agents answered the predictions of one label (in one language, or "all"), each
    prediction counted once with its latest verdict."""

    model_config = ConfigDict(frozen=True)

    predicted: str
    language: str
    shown: int
    confirmed: int
    corrected: dict[str, int]
    unsure: int

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


def summarise(rows: list[dict[str, Any]], by_language: bool = False) -> list[TypeSummary]:
    """Per predicted label (and language): shown, confirmed, corrected to what, unsure,
    counting each prediction's latest verdict."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        lang = r["language"] if by_language else "all"
        groups.setdefault((r["predicted"], lang), []).append(r)
    order = {k: i for i, k in enumerate((*LABELS, UNDETERMINED))}
    out = []
    for (label, lang), rs in sorted(
        groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])
    ):
        verdicts = Counter(r["verdict"] for r in rs)
        corrected = Counter(r["label"] for r in rs if r["verdict"] == "correct")
        out.append(
            TypeSummary(
                predicted=label,
                language=lang,
                shown=len(rs),
                confirmed=verdicts["confirm"],
                corrected=dict(corrected),
                unsure=verdicts["unsure"],
            )
        )
    return out


# --- importing a helpdesk export ---------------------------------------------------------

IMPORT_FIELDS = ("ticket_id", "text", "text_hash", "predicted", "corrected", "agent_id", "time")


@dataclass
class ImportResult:
    """What `custtype feedback import` did: rows stored, and each refused row with why."""

    stored: int = 0
    problems: list[str] = field(default_factory=list)


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """(file:line or file, row N; fields; problem) for each record of an export, read as
    `custtype score` reads its input: CSV/TSV with detected delimiter and encoding, JSON
    Lines, Parquet, Excel."""
    from custtype.batch.read import open_reader  # pandas: not imported by the server

    reader = open_reader(path)
    for rec in reader.records(reader.data_start):
        line = rec.where.removeprefix("line ")
        yield (
            (f"{path}:{line}" if line != rec.where else f"{path}, {rec.where}"),
            rec.values,
            rec.problem,
        )


def _language(text: str) -> str:
    return detect_language(text) if text else "unknown"


def _verdict(predicted: str, corrected: str) -> tuple[str, str | None]:
    if corrected in ("", "unsure", "?"):
        return ("unsure", None) if corrected else ("confirm", None)
    return ("confirm", None) if corrected == predicted else ("correct", corrected)


def _time(value: str) -> datetime:
    if not value:
        return now()
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FeedbackError(f"time: {value[:40]!r} is not an ISO 8601 date-time.") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def import_feedback(store: Store, path: Path, model_version: str, policy: str) -> ImportResult:
    """Store each row of a helpdesk export (ticket_id, text or text_hash, predicted,
    corrected, agent_id, time); a bad row is reported by number and field, the rest stored.
    `corrected` empty = confirmed, "unsure" = not sure, else the right label."""
    result = ImportResult()
    for where, raw, problem in _rows(path):
        if problem:
            result.problems.append(f"{where}: {problem}")
            continue
        get = {k: str(raw.get(k) or "").strip() for k in IMPORT_FIELDS}
        try:
            missing = [k for k in ("predicted", "agent_id") if not get[k]]
            if missing:
                raise FeedbackError(f"{missing[0]}: missing.")
            if not get["text"] and not get["text_hash"]:
                raise FeedbackError("text: give the text or its text_hash.")
            if get["predicted"] not in (*LABELS, UNDETERMINED):
                raise FeedbackError(
                    f"predicted: {get['predicted'][:40]!r} is not a type key, 'none' or "
                    "'undetermined'."
                )
            verdict, label = _verdict(get["predicted"], get["corrected"])
            record = Shown(
                text=get["text"],
                language=str(raw.get("language") or _language(get["text"]))[:8],
                predicted=get["predicted"],
                confidence=0.0,
                action="suggest",
                automated=False,
                model_version=str(raw.get("model_version") or model_version)[:64],
                policy_version=policy,
                source="import",
                ticket_id=get["ticket_id"][:200] or None,
                text_hash=get["text_hash"][:64] or None,
            )
            store.import_one(record, verdict, label, get["agent_id"], _time(get["time"]))
        except CusttypeError as exc:
            result.problems.append(f"{where}: {exc}")
            continue
        result.stored += 1
    return result
