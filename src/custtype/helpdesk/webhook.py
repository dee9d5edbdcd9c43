"""The helpdesk webhook: a ticket in (our shape, or what a Zendesk trigger or a Freshdesk
automation sends), tags, strategy summary and allowed action out; idempotent by ticket id.

Adapters (documented in docs/feedback.md):
- custtype: ``{"ticket_id", "subject", "body", "channel"?, "requester_id"?, "language"?}``
- Zendesk: ``{"ticket": {"id", "subject", "description", "via", "requester_id", "locale"}}``
  or a Zendesk event ``{"detail": {"id", "subject", "description", ...}}``
- Freshdesk: ``{"freshdesk_webhook": {"ticket_id", "ticket_subject", "ticket_description",
  "ticket_source", "ticket_requester_id"}}``
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from custtype.advice import Assistant
from custtype.errors import InputError
from custtype.helpdesk.feedback import predicted_label, shown
from custtype.model.classifier import MAX_CHARS, check_text
from custtype.store.records import Store, new_prediction_id
from custtype.strategy.context import MessageContext
from custtype.strategy.rules import strategy_summary
from custtype.taxonomy import CHANNELS, LANGS
from custtype.validation import describe

SIGNATURE_HEADER = "X-Custtype-Signature"
_TAG = re.compile(r"<[^<>]{0,2000}>")  # HTML tags of a Freshdesk description (linear: no nesting)
_CHANNELS = {  # helpdesk channel names -> ours
    "email": "email",
    "mail": "email",
    "web": "contact_form",
    "portal": "contact_form",
    "web_form": "contact_form",
    "feedback widget": "contact_form",
    "chat": "chat",
    "messaging": "messenger",
    "whatsapp": "messenger",
    "twitter": "social",
    "facebook": "social",
    "instagram": "social",
    "voice": "call_transcript",
    "phone": "call_transcript",
}


class Ticket(BaseModel):
    """One ticket as custtype reads it, whichever helpdesk sent it."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str = Field(min_length=1, max_length=200)
    subject: str = Field(default="", max_length=2000)
    body: str = Field(default="", max_length=MAX_CHARS)
    channel: str | None = Field(default=None, max_length=50)
    requester_id: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=20)

    def text(self) -> str:
        """Subject and body as one message (the subject often carries the tone)."""
        return "\n\n".join(p for p in (self.subject.strip(), self.body.strip()) if p)

    def our_channel(self) -> str | None:
        if self.channel is None:
            return None
        code = self.channel.strip().lower()
        code = _CHANNELS.get(code, code)
        return code if code in CHANNELS else "other"

    def our_language(self) -> str | None:
        code = (self.language or "").strip().lower()[:2]
        return code if code in LANGS else None


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _plain(markup: str) -> str:
    """A Freshdesk/Zendesk HTML description as text."""
    if "<" not in markup:
        return markup
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", markup)
    return html.unescape(_TAG.sub("", text))


def adapt(payload: Any) -> Ticket:
    """Our Ticket from any supported payload; InputError names the field at fault."""
    if not isinstance(payload, dict):
        raise InputError("body: expected a JSON object (a ticket).")
    try:
        if isinstance(payload.get("freshdesk_webhook"), dict):
            f = payload["freshdesk_webhook"]
            return Ticket(
                ticket_id=_text_of(f.get("ticket_id")),
                subject=_text_of(f.get("ticket_subject")),
                body=_plain(_text_of(f.get("ticket_description"))),
                channel=_text_of(f.get("ticket_source")) or None,
                requester_id=_text_of(f.get("ticket_requester_id")) or None,
                language=_text_of(f.get("ticket_language")) or None,
            )
        for key in ("ticket", "detail"):
            if isinstance(payload.get(key), dict):
                z = payload[key]
                via = z.get("via")
                channel = via.get("channel") if isinstance(via, dict) else via
                requester = z.get("requester")
                req_id = (
                    requester.get("id") if isinstance(requester, dict) else z.get("requester_id")
                )
                return Ticket(
                    ticket_id=_text_of(z.get("id")),
                    subject=_text_of(z.get("subject")),
                    body=_plain(_text_of(z.get("description") or z.get("latest_comment"))),
                    channel=_text_of(channel) or None,
                    requester_id=_text_of(req_id) or None,
                    language=_text_of(z.get("locale")) or None,
                )
        return Ticket.model_validate(payload)
    except ValidationError as err:
        raise InputError(describe(err)) from None


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is ``sha256=<hex HMAC-SHA256 of body>`` (constant-time compare)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256=") :].strip().lower().encode(), expected.encode())


def tags_of(label: str, escalate: bool) -> list[str]:
    """Helpdesk tags: ``custtype_<type>``, ``custtype_none`` or ``custtype_undetermined``."""
    return [f"custtype_{label}", *(["custtype_escalate"] if escalate else [])]


def handle_ticket(
    assistant: Assistant, store: Store, ticket: Ticket
) -> tuple[dict[str, Any], bool]:
    """The reply for a ticket and whether it is a replay (answered from the store, not
    scored again). A ticket with no text is an InputError."""
    earlier = store.ticket_reply(ticket.ticket_id)
    if earlier is not None:
        return json.loads(earlier), True
    text = check_text(ticket.text(), "subject and body")
    context = MessageContext(channel=ticket.our_channel())
    advice = assistant.advise([text], [ticket.our_language()], [context])[0]
    label = predicted_label(advice)
    reply = {
        "ticket_id": ticket.ticket_id,
        "tags": tags_of(label, advice.strategy.escalate),
        "type": advice.type,
        "outcome": advice.outcome,
        "confidence": round(advice.confidence, 4),
        "action": advice.action.level,
        "queue": advice.action.queue,
        "strategy_summary": strategy_summary(advice.strategy),
        "prediction_id": new_prediction_id(),
        "model_version": advice.model_version,
        "internal_only": True,
    }
    record = shown(advice, text, assistant.automation.label, "webhook", ticket.ticket_id)
    stored = store.add_ticket(ticket.ticket_id, record, reply)
    final: dict[str, Any] = json.loads(stored)
    return final, final["prediction_id"] != reply["prediction_id"]
