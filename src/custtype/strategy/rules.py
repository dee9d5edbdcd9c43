"""The rules module: the strategy for a type, adapted to what the message and context show.

Deterministic: the same type, language and context always give the same recommendation.
No rule refuses service or recommends an adverse action; every output carries the notice
that the type is an internal aid, never to be shown to the customer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from custtype.strategy.context import MessageContext
from custtype.strategy.playbook import (
    ChannelPreference,
    Playbook,
    Priority,
    Strategy,
    load_playbook,
)
from custtype.taxonomy import Lang, check_lang, check_type, type_name
from custtype.text.cues import cue_categories, find_cues
from custtype.text.normalize import normalize

_SPOKEN = {"phone", "call_transcript"}
_WRITTEN = {"email", "contact_form", "letter", "chat", "messenger"}
REPEAT_THRESHOLD = 2


class Flags(BaseModel):
    """What the context rules found."""

    reputational_risk: bool = False
    legal: bool = False
    repeat_contact: bool = False


class Recommendation(BaseModel):
    """A strategy ready for the agent, with the context rules applied."""

    type: str | None
    type_name: str
    lang: Lang
    internal_only: Literal[True] = True
    notice: str
    priority: Priority
    target_response_minutes: int
    reply_channel: ChannelPreference
    escalate: bool
    escalation_reasons: list[str]  # the rules that call for escalation (subset of rules_applied)
    flags: Flags
    rules_applied: list[str]
    added_actions: list[str]
    strategy: dict[str, Any]
    openers_lang: Lang  # the customer's language: openers are pasted to the customer
    playbook_version: str


def _pick(explicit: bool | None, category: str, found: frozenset[str]) -> bool:
    return explicit if explicit is not None else category in found


def recommend(
    type_key: str | None,
    lang: str = "en",
    context: MessageContext | None = None,
    playbook: Playbook | str | Path | None = None,
    cues: frozenset[str] | None = None,
    customer_lang: str | None = None,
) -> Recommendation:
    """The strategy for `type_key` (None/'none' → general standard) in `lang`, given context.

    `lang` is the agent's language; the reply openers, which are pasted to the customer, are
    in `customer_lang` (default: `lang`). `cues` are the cue categories already found in the
    message (the advice layer passes them); otherwise they are found in `context.text`.

    Example: ``recommend("extortionist", "pl", MessageContext(text="Wrzucę to na Instagram"))``
    """
    code = check_lang(lang)
    if type_key is not None and type_key != "none":
        check_type(type_key)
    key = None if type_key in (None, "none") else type_key
    book = playbook if isinstance(playbook, Playbook) else load_playbook(playbook)
    ctx = context or MessageContext()
    strategy: Strategy = book.strategy(key, code)
    customer = check_lang(customer_lang) if customer_lang else code
    openers = book.strategy(key, customer).openers
    rules = book.context_rules

    if cues is None:
        cues = (
            cue_categories(find_cues(normalize(ctx.text).text, code)) if ctx.text else frozenset()
        )
    flags = Flags(
        reputational_risk=_pick(ctx.public_exposure, "public_exposure", cues),
        legal=_pick(ctx.legal_appeal, "legal_appeal", cues),
        repeat_contact=ctx.repeat_contacts >= REPEAT_THRESHOLD or "repeat_contact" in cues,
    )
    applied: list[str] = []
    added: list[str] = []
    priority: Priority = strategy.priority
    target = strategy.target_response_minutes
    reply: ChannelPreference = strategy.preferred_channel
    escalate_for: list[str] = []

    if flags.reputational_risk:
        applied.append("public_exposure")
        added.append(rules.public_exposure[code])
        escalate_for.append("public_exposure")
        priority = "high"
        target = min(target, 60)
    if flags.legal:
        applied.append("legal_appeal")
        added.append(rules.legal_appeal[code])
        reply = "written"
    if flags.repeat_contact:
        applied.append("repeat_contact")
        added.append(rules.repeat_contact[code])
        added.append(strategy.boundaries)
    if ctx.channel in _SPOKEN and reply == "written":
        applied.append("phone_to_written")
        added.append(rules.phone_to_written[code])
    elif ctx.channel in _WRITTEN and reply == "written":
        applied.append("written_channel")
        added.append(rules.written_channel[code])

    return Recommendation(
        type=key,
        type_name=type_name(key if key else "none", code),
        lang=code,
        notice=book.notice[code],
        priority=priority,
        target_response_minutes=target,
        reply_channel=reply,
        escalate=bool(escalate_for),
        escalation_reasons=escalate_for,
        flags=flags,
        rules_applied=applied,
        added_actions=added,
        strategy={**strategy.model_dump(), "openers": list(openers)},
        openers_lang=customer,
        playbook_version=book.version,
    )


def _minutes(m: int) -> str:
    return f"{m // 60} h" if m >= 60 and m % 60 == 0 else f"{m} min"


def strategy_summary(rec: Recommendation) -> str:
    """One line for a table cell: name, priority, time, channel, escalation, first action."""
    parts = [
        rec.type_name,
        f"priority {rec.priority}",
        f"answer within {_minutes(rec.target_response_minutes)}",
        f"reply {rec.reply_channel}",
    ]
    if rec.escalate:
        parts.append("ESCALATE")
    if rec.rules_applied:
        parts.append("rules: " + ", ".join(rec.rules_applied))
    actions = [*rec.added_actions, *rec.strategy.get("actions", [])]
    if actions:
        parts.append(str(actions[0]))
    return " | ".join(parts)
