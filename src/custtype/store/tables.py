"""The store's tables (SQLAlchemy Core). Changed only through a new Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = 40  # prediction ids
KEY = 200  # ticket, agent and customer ids from a helpdesk
LABEL = 32

predictions = Table(
    "predictions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("source", String(16), nullable=False),  # api, webhook, import
    Column("ticket_id", String(KEY)),
    Column("text_hash", String(64), nullable=False, index=True),  # keyed HMAC-SHA256
    Column("text", Text),  # only when the team keeps text; cleared after its retention
    Column("text_expires_at", DateTime(timezone=True)),
    Column("language", String(8), nullable=False),
    Column("predicted", String(LABEL), nullable=False),  # a type key, none or undetermined
    Column("confidence", Float, nullable=False),
    Column("action", String(16), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prediction_id", String(ID), ForeignKey("predictions.id"), nullable=False, index=True),
    Column("verdict", String(8), nullable=False),  # confirm, correct, unsure
    Column("label", String(LABEL)),  # the agent's label (None when unsure)
    Column("agent_id", String(KEY), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("source", String(16), nullable=False),  # api, page, import
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(KEY), nullable=False),  # "custtype" or an agent id
    Column("action", String(32), nullable=False),
    Column("prediction_id", String(ID)),
    Column("label", String(LABEL)),
    Column("model_version", String(64)),
    Column("policy_version", String(64)),
    Column("detail", Text),  # JSON
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(KEY), primary_key=True),
    Column("prediction_id", String(ID), ForeignKey("predictions.id"), nullable=False),
    Column("response", Text, nullable=False),  # the JSON answered the first time
    Column("created_at", DateTime(timezone=True), nullable=False),
)
