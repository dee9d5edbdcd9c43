"""Predictions, feedback, the append-only audit log and webhook replies.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID, _KEY, _LABEL = 40, 200, 32
_TS = sa.DateTime(timezone=True)

_PG_GUARD = """
CREATE FUNCTION custtype_audit_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION custtype_audit_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(_ID), primary_key=True),
        sa.Column("created_at", _TS, nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.String(_KEY)),
        sa.Column("text_hash", sa.String(64), nullable=False, index=True),
        sa.Column("text", sa.Text),
        sa.Column("text_expires_at", _TS),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("predicted", sa.String(_LABEL), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "prediction_id",
            sa.String(_ID),
            sa.ForeignKey("predictions.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("label", sa.String(_LABEL)),
        sa.Column("agent_id", sa.String(_KEY), nullable=False),
        sa.Column("created_at", _TS, nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False, index=True),
        sa.Column("actor", sa.String(_KEY), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("prediction_id", sa.String(_ID)),
        sa.Column("label", sa.String(_LABEL)),
        sa.Column("model_version", sa.String(64)),
        sa.Column("policy_version", sa.String(64)),
        sa.Column("detail", sa.Text),
    )
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.String(_KEY), primary_key=True),
        sa.Column("prediction_id", sa.String(_ID), sa.ForeignKey("predictions.id"), nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    else:  # SQLite (and others with the same trigger syntax)
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_no_{event.lower()} BEFORE {event} ON audit "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
        op.execute("DROP FUNCTION IF EXISTS custtype_audit_append_only()")
    for name in ("tickets", "audit", "feedback", "predictions"):
        op.drop_table(name)
