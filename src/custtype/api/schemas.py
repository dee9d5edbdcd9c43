"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from custtype.api.settings import MAX_BATCH_ITEMS
from custtype.helpdesk.feedback import TypeSummary
from custtype.model.classifier import MAX_CHARS, check_text
from custtype.strategy.rules import Recommendation
from custtype.taxonomy import Channel

LangCode = Literal["ru", "pl", "en"]
ItemId = int | str

_TEXT_SCHEMA: dict[str, Any] = {"minLength": 1, "maxLength": MAX_CHARS, "pattern": r"\S"}
_ID_MAX = 200


def check_unicode(value: str, where: str) -> str:
    """Refuse strings with unpaired surrogates: they cannot be encoded as UTF-8 in a reply."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{where} contains an unpaired surrogate (\\u{ord(value[exc.start]):04x}) at "
            f"character {exc.start}; send valid Unicode."
        ) from None
    return value


def check_message(text: str, where: str = "text") -> str:
    """The library's text check (empty, too long) plus valid Unicode; raises ValueError."""
    return check_unicode(check_text(text, where), where)


class ContextFields(BaseModel):
    """What is known around a message; flags left out are detected from the text."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel | None = Field(default=None, description="Where the message came from.")
    repeat_contacts: int = Field(default=0, ge=0, le=100_000, description="Earlier contacts.")
    public_exposure: bool | None = Field(default=None, description="Public post/review threat.")
    legal_appeal: bool | None = Field(default=None, description="Appeal to law or regulator.")


class MessageFields(ContextFields):
    """The optional fields of one message to classify."""

    lang: LangCode | None = Field(default=None, description="Force the language (else detected).")
    agent_lang: LangCode | None = Field(
        default=None, description="Language of the strategy (default: the message's)."
    )
    customer_id: str | None = Field(
        default=None, max_length=_ID_MAX, description="Your customer id; echoed, never logged."
    )

    @field_validator("customer_id")
    @classmethod
    def _customer_id(cls, value: str | None) -> str | None:
        return None if value is None else check_unicode(value, "customer_id")


class ClassifyRequest(MessageFields):
    """One message to classify."""

    text: str = Field(
        description=f"The customer's message (1 to {MAX_CHARS:,} characters).",
        json_schema_extra=_TEXT_SCHEMA,
        examples=["Я постоянный клиент и жду компенсацию, иначе напишу отзыв в Instagram!"],
    )

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_message(value)


class BatchItem(MessageFields):
    """One message of a batch; a text that cannot be scored gets a per-item error."""

    id: ItemId = Field(description="Your id for the message; echoed in the result.")
    text: str = Field(description="The customer's message.", json_schema_extra=_TEXT_SCHEMA)

    @field_validator("id")
    @classmethod
    def _id(cls, value: ItemId) -> ItemId:
        if isinstance(value, str):
            if len(value) > _ID_MAX:
                raise ValueError(f"id has {len(value)} characters; the limit is {_ID_MAX}.")
            check_unicode(value, "id")
        return value


class BatchRequest(BaseModel):
    """Up to 1,000 messages, classified in one call; order is kept and ids are echoed."""

    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class EvidenceOut(BaseModel):
    """A phrase of the original message; start/end are character offsets into it."""

    text: str
    start: int
    end: int
    weight: float
    cues: list[str]


class ClassifyResponse(BaseModel):
    """The prediction contract (Prediction.to_dict()) plus helpdesk tags."""

    type: str | None
    label: str | None
    outcome: Literal["type", "none", "undetermined"]
    confidence: float
    confidence_level: Literal["high", "medium", "low"]
    probabilities: dict[str, float]
    language: str
    evidence: list[EvidenceOut]
    strategy: Recommendation
    action: Literal["off", "suggest", "preselect", "auto_tag"] = Field(
        description="What the team's automation policy allows: tagging and routing only."
    )
    model_version: str
    reason: str | None
    internal_only: Literal[True]
    tags: list[str] = Field(description="Helpdesk tags, e.g. custtype:extortionist.")
    customer_id: str | None = None
    prediction_id: str | None = Field(
        default=None, description="Opaque id to send feedback about this prediction."
    )


class ItemError(BaseModel):
    """Why one batch item could not be classified."""

    code: str
    detail: str


class BatchResult(BaseModel):
    """One batch item's outcome: `result` or `error`, never both."""

    id: ItemId
    result: ClassifyResponse | None = None
    error: ItemError | None = None


class BatchResponse(BaseModel):
    """Results in the order of the request."""

    items: list[BatchResult]
    count: int
    errors: int
    model_version: str


class RecommendRequest(ContextFields):
    """A type (or none) and the context of the contact → the strategy."""

    type: str | None = Field(description="A type key, 'none' or null for the general standard.")
    lang: LangCode = Field(default="en", description="Language of the strategy.")
    text: str | None = Field(
        default=None,
        description="The message, to detect context cues.",
        json_schema_extra=_TEXT_SCHEMA,
    )

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else check_message(value)


class TypeInfo(BaseModel):
    """A type key and its names."""

    key: str
    names: dict[str, str]


class TypesResponse(BaseModel):
    """The seven types, the none/undetermined names, languages, channels and the notice."""

    types: list[TypeInfo]
    none: dict[str, str]
    undetermined: dict[str, str]
    labels: list[str]
    langs: list[str]
    channels: list[str]
    notice: dict[str, str]


class ErrorDetail(BaseModel):
    """One validation problem; the offending value is never echoed."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: a code, a message naming the problem, the request id."""

    error: str
    detail: str
    request_id: str | None = None
    errors: list[ErrorDetail] | None = None


class Health(BaseModel):
    """Liveness / readiness."""

    status: str
    model_version: str | None = None
    playbook_version: str | None = None


class FeedbackRequest(BaseModel):
    """An agent's verdict on a prediction returned by /v1/classify."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=40, description="From /v1/classify.")
    verdict: Literal["confirm", "correct", "unsure"]
    label: str | None = Field(
        default=None,
        max_length=32,
        description="The right label for 'correct' (a type key or 'none'); optional otherwise.",
    )
    agent_id: str = Field(min_length=1, max_length=200, description="Who answered.")
    source: Literal["api", "page"] = Field(default="api", description="Where it was given.")


class FeedbackResponse(BaseModel):
    """The verdict as stored."""

    feedback_id: int
    prediction_id: str
    verdict: str
    label: str | None


class FeedbackSummary(BaseModel):
    """Per predicted label, overall and per language."""

    types: list[TypeSummary]
    by_language: list[TypeSummary]


class TicketReply(BaseModel):
    """The webhook's answer: tags to set, the allowed action and the strategy in one line."""

    ticket_id: str
    tags: list[str]
    type: str | None
    outcome: Literal["type", "none", "undetermined"]
    confidence: float
    action: Literal["off", "suggest", "preselect", "auto_tag"]
    queue: str | None
    strategy_summary: str
    prediction_id: str
    model_version: str
    internal_only: Literal[True]


class CalibrationBin(BaseModel):
    """Predictions agents answered within one confidence band, and how many they confirmed."""

    low: float = Field(alias="from")
    high: float = Field(alias="to")
    answered: int
    confirmed: int

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class WeekMix(BaseModel):
    """Predictions per label in one ISO week (drift of the type mix)."""

    week: str
    mix: dict[str, int]


class VerdictWeek(BaseModel):
    """Agents' latest verdicts given in one ISO week."""

    week: str
    confirmed: int
    corrected: int
    unsure: int


class FeedbackQuality(FeedbackSummary):
    """The dashboard: the summary, confidence against agents, the type mix by week."""

    predictions: int
    answered: int
    calibration: list[CalibrationBin]
    weeks: list[WeekMix]
    verdict_weeks: list[VerdictWeek]
