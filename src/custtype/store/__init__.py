"""The feedback store: predictions shown to agents, their verdicts, an append-only audit log
and helpdesk webhook replies, in SQLite (embedded default) or any SQLAlchemy database."""
