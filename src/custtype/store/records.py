"""What the store records and answers: predictions shown to agents, their verdicts, the
append-only audit log, webhook replies, retention. One transaction per change, so a crash
leaves either the whole change or none of it."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from custtype.errors import FeedbackError, StoreError
from custtype.store.db import create_store_engine, migrate, safe_url, store_key
from custtype.store.settings import StoreSettings
from custtype.store.tables import KEY, audit, feedback, predictions, tickets
from custtype.taxonomy import LABELS

Verdict = Literal["confirm", "correct", "unsure"]
VERDICTS: tuple[Verdict, ...] = ("confirm", "correct", "unsure")
UNDETERMINED = "undetermined"
SYSTEM_ACTOR = "custtype"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Shown:
    """One prediction as an agent or a helpdesk received it."""

    text: str
    language: str
    predicted: str  # a type key, "none" or "undetermined"
    confidence: float
    action: str
    automated: bool
    model_version: str
    policy_version: str
    source: str  # api, webhook, import
    ticket_id: str | None = None
    queue: str | None = None
    text_hash: str | None = None  # a helpdesk export's hash when it has no text


@dataclass(frozen=True)
class Labelled:
    """A message an agent labelled, with its text kept: a training example with provenance."""

    prediction_id: str
    text: str
    language: str
    label: str
    agent_id: str
    at: datetime


class Store:
    """The feedback store. ``Store.open()`` reads CUSTTYPE_STORE_* and migrates the schema."""

    def __init__(self, engine: Engine, key: bytes, settings: StoreSettings) -> None:
        self.engine = engine
        self._key = key
        self.settings = settings

    @classmethod
    def open(cls, settings: StoreSettings | None = None) -> Store:
        """Connect, create the schema or bring it up to date, read the hash key."""
        settings = settings or StoreSettings()
        secret = settings.key.get_secret_value() if settings.key else None
        engine = create_store_engine(settings.url)  # creates a SQLite file's folder
        key = store_key(settings.url, secret)
        migrate(engine)
        return cls(engine, key, settings)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def where(self) -> str:
        """The database, password hidden."""
        return safe_url(self.engine)

    def hash_text(self, text: str) -> str:
        """Keyed SHA-256 of a message: joins an export to its prediction, reveals nothing
        to whoever lacks the key."""
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One transaction: all of it is written or none; a database failure is a StoreError
        (a duplicate key stays an IntegrityError for the caller to resolve)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
            raise StoreError(f"The store {self.where} could not be written: {reason}") from None

    # predictions -------------------------------------------------------------------------

    def add_prediction(self, shown: Shown, at: datetime | None = None) -> str:
        """Record a prediction (and, if the policy automated it, an audit row); its id."""
        return self.add_predictions([shown], at)[0]

    def add_predictions(self, shown: list[Shown], at: datetime | None = None) -> list[str]:
        """Record several predictions in one transaction; their ids in order."""
        at = at or now()
        ids = [new_prediction_id() for _ in shown]
        if shown:
            with self._write() as conn:
                for pid, one in zip(ids, shown, strict=True):
                    self._insert_prediction(conn, pid, one, at)
        return ids

    def _insert_prediction(self, conn: Connection, pid: str, shown: Shown, at: datetime) -> None:
        keep = self.settings.keep_text and bool(shown.text)
        conn.execute(
            insert(predictions).values(
                id=pid,
                created_at=at,
                source=shown.source,
                ticket_id=shown.ticket_id,
                text_hash=shown.text_hash or self.hash_text(shown.text),
                text=shown.text if keep else None,
                text_expires_at=at + timedelta(days=self.settings.retention_days) if keep else None,
                language=shown.language,
                predicted=shown.predicted,
                confidence=shown.confidence,
                action=shown.action,
                model_version=shown.model_version,
                policy_version=shown.policy_version,
            )
        )
        if shown.automated:
            _audit(
                conn,
                at,
                SYSTEM_ACTOR,
                shown.action,
                pid,
                shown.predicted,
                shown.model_version,
                shown.policy_version,
                {"queue": shown.queue, "ticket_id": shown.ticket_id, "source": shown.source},
            )

    def prediction(self, pid: str) -> dict[str, Any] | None:
        """One prediction's row (text included only where kept), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(predictions).where(predictions.c.id == pid)).first()
        return None if row is None else dict(row._mapping)

    def count(self, table: Literal["predictions", "feedback", "audit", "tickets"]) -> int:
        """Rows in one table (for checks that nothing was lost)."""
        t = {"predictions": predictions, "feedback": feedback, "audit": audit, "tickets": tickets}
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t[table])).scalar_one())

    # feedback ----------------------------------------------------------------------------

    def add_feedback(
        self,
        pid: str,
        verdict: str,
        label: str | None,
        agent_id: str,
        source: str = "api",
        at: datetime | None = None,
    ) -> tuple[int, str | None]:
        """Record an agent's verdict on a prediction and audit it, in one transaction; the
        verdict's id and the label it records. FeedbackError names what is wrong (unknown
        prediction, verdict or label; a correction to the same label): nothing is kept then."""
        at = at or now()
        check_agent(agent_id)
        with self._write() as conn:
            found = conn.execute(
                select(
                    predictions.c.predicted,
                    predictions.c.model_version,
                    predictions.c.policy_version,
                ).where(predictions.c.id == pid)
            ).first()
            if found is None:
                raise FeedbackError(f"prediction_id: no prediction {pid!r} in this store.")
            row = dict(found._mapping)
            label = check_verdict(verdict, label, row["predicted"])
            return _insert_feedback(conn, pid, verdict, label, agent_id, at, source, row), label

    def import_one(
        self, shown: Shown, verdict: str, label: str | None, agent_id: str, at: datetime
    ) -> str:
        """A verdict exported by a helpdesk (no prediction id): the prediction it names and the
        verdict, recorded together."""
        label = check_verdict(verdict, label, shown.predicted)
        check_agent(agent_id)
        pid = new_prediction_id()
        with self._write() as conn:
            self._insert_prediction(conn, pid, shown, at)
            row = {
                "predicted": shown.predicted,
                "model_version": shown.model_version,
                "policy_version": shown.policy_version,
            }
            _insert_feedback(conn, pid, verdict, label, agent_id, at, "import", row)
        return pid

    def latest_verdicts(self) -> list[dict[str, Any]]:
        """Each prediction's latest verdict joined with the prediction (for summaries)."""
        last = (
            select(feedback.c.prediction_id, func.max(feedback.c.id).label("fid"))
            .group_by(feedback.c.prediction_id)
            .subquery()
        )
        q = (
            select(
                predictions.c.id,
                predictions.c.created_at,
                predictions.c.language,
                predictions.c.predicted,
                predictions.c.confidence,
                predictions.c.text,
                feedback.c.verdict,
                feedback.c.label,
                feedback.c.agent_id,
                feedback.c.created_at.label("verdict_at"),
            )
            .select_from(predictions)
            .outerjoin(last, last.c.prediction_id == predictions.c.id)
            .outerjoin(feedback, feedback.c.id == last.c.fid)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def labelled(self) -> list[Labelled]:
        """Messages whose text was kept and whose latest verdict gives a label."""
        out = []
        for row in self.latest_verdicts():
            if row["verdict"] not in ("confirm", "correct") or row["label"] in (None, UNDETERMINED):
                continue
            if not row["text"]:
                continue
            out.append(
                Labelled(
                    row["id"],
                    row["text"],
                    row["language"],
                    row["label"],
                    row["agent_id"],
                    row["verdict_at"],
                )
            )
        return out

    # audit -------------------------------------------------------------------------------

    def audit_log(self) -> Iterator[dict[str, Any]]:
        """The audit log in order of writing; times in UTC, details as JSON objects."""
        with self.engine.connect() as conn:
            for row in conn.execute(select(audit).order_by(audit.c.id)):
                entry = dict(row._mapping)
                at = entry["at"]
                entry["at"] = (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()
                entry["detail"] = json.loads(entry["detail"]) if entry["detail"] else {}
                yield entry

    # webhook replies ---------------------------------------------------------------------

    def ticket_reply(self, ticket_id: str) -> str | None:
        """The JSON answered the first time this ticket was sent, or None."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(tickets.c.response).where(tickets.c.ticket_id == ticket_id)
            ).first()
        return None if found is None else str(found[0])

    def add_ticket(
        self, ticket_id: str, shown: Shown, reply: dict[str, Any], at: datetime | None = None
    ) -> str:
        """Record a ticket's prediction and the reply in one transaction; the reply stored
        (the earlier one if the same ticket won a race) as JSON text."""
        at = at or now()
        pid = str(reply["prediction_id"])
        text = json.dumps(reply, ensure_ascii=False)
        try:
            with self._write() as conn:
                self._insert_prediction(conn, pid, shown, at)
                conn.execute(
                    insert(tickets).values(
                        ticket_id=ticket_id, prediction_id=pid, response=text, created_at=at
                    )
                )
        except IntegrityError:
            earlier = self.ticket_reply(ticket_id)
            if earlier is None:
                raise
            return earlier
        return text

    # retention ---------------------------------------------------------------------------

    def purge(self, at: datetime | None = None) -> int:
        """Clear kept texts past their retention date; audited. The number cleared."""
        at = at or now()
        with self._write() as conn:
            done = conn.execute(
                update(predictions)
                .where(predictions.c.text_expires_at.is_not(None))
                .where(predictions.c.text_expires_at <= at)
                .values(text=None, text_expires_at=None)
            ).rowcount
            _audit(conn, at, SYSTEM_ACTOR, "purge", None, None, None, None, {"texts": done})
        return int(done)


def new_prediction_id() -> str:
    """An opaque, unguessable prediction id."""
    return "pr_" + secrets.token_hex(12)


def check_verdict(verdict: str, label: str | None, predicted: str) -> str | None:
    """The label a verdict records, or FeedbackError naming the field at fault."""
    if verdict not in VERDICTS:
        raise FeedbackError(f"verdict: {verdict!r} is not one of {', '.join(VERDICTS)}.")
    if label is not None and label not in LABELS:
        raise FeedbackError(
            f"label: {label!r} is not a type key or 'none'; known: {', '.join(LABELS)}."
        )
    if verdict == "confirm":
        if label is not None and label != predicted:
            raise FeedbackError(
                f"label: a confirmation repeats the prediction ({predicted!r}), got {label!r}; "
                "send verdict 'correct' to change it."
            )
        return predicted
    if verdict == "correct":
        if label is None:
            raise FeedbackError("label: a correction needs the right label (a type key or 'none').")
        if label == predicted:
            raise FeedbackError(f"label: {label!r} is what was predicted; send verdict 'confirm'.")
        return label
    if label is not None:
        raise FeedbackError("label: leave it out when the verdict is 'unsure'.")
    return None


def check_agent(agent_id: str) -> None:
    if not agent_id.strip() or len(agent_id) > KEY:
        raise FeedbackError(f"agent_id: 1 to {KEY} characters, got {len(agent_id)}.")


def _insert_feedback(
    conn: Connection,
    pid: str,
    verdict: str,
    label: str | None,
    agent_id: str,
    at: datetime,
    source: str,
    prediction: dict[str, Any],
) -> int:
    """A verdict and its audit entry, in the caller's transaction; the verdict's id."""
    key = conn.execute(
        insert(feedback).values(
            prediction_id=pid,
            verdict=verdict,
            label=label,
            agent_id=agent_id,
            created_at=at,
            source=source,
        )
    ).inserted_primary_key
    _audit(
        conn,
        at,
        agent_id,
        f"feedback:{verdict}",
        pid,
        label,
        prediction["model_version"],
        prediction["policy_version"],
        {"predicted": prediction["predicted"], "source": source},
    )
    return int(key[0]) if key else 0


def _audit(
    conn: Connection,
    at: datetime,
    actor: str,
    action: str,
    pid: str | None,
    label: str | None,
    model_version: str | None,
    policy_version: str | None,
    detail: dict[str, Any],
) -> None:
    conn.execute(
        insert(audit).values(
            at=at,
            actor=actor,
            action=action,
            prediction_id=pid,
            label=label,
            model_version=model_version,
            policy_version=policy_version,
            detail=json.dumps(detail, ensure_ascii=False),
        )
    )
