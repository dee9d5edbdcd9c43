"""Alembic migrations of the store, applied by `open_store` (a no-op when up to date)."""
