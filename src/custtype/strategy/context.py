"""What is known around a message besides its text: channel, earlier contacts, flags."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from custtype.taxonomy import Channel


class MessageContext(BaseModel):
    """What is known around a message. Flags left as None are detected from `text`."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    channel: Channel | None = None
    repeat_contacts: int = Field(default=0, ge=0, description="earlier contacts on the matter")
    public_exposure: bool | None = None
    legal_appeal: bool | None = None
