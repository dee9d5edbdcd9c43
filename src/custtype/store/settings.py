"""Where the store lives and what it keeps, from CUSTTYPE_STORE_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_URL = "sqlite:///.custtype/custtype.db"


class StoreSettings(BaseSettings):
    """The store's settings; each can be set as CUSTTYPE_STORE_<NAME> (URL also as
    CUSTTYPE_STORE_URL). Text is not kept unless `keep_text` is set.

    Example: ``CUSTTYPE_STORE_URL=postgresql+psycopg://desk@db/custtype``
    """

    model_config = SettingsConfigDict(env_prefix="CUSTTYPE_STORE_", extra="ignore")

    url: str = Field(default=DEFAULT_URL, min_length=1, max_length=2000)
    key: SecretStr | None = Field(
        default=None,
        description="Secret of the keyed text hash; default for SQLite: a key file beside "
        "the database, created on first use. Required for other databases.",
    )
    keep_text: bool = Field(default=False, description="Keep message text (for retraining).")
    retention_days: int = Field(
        default=90, gt=0, le=3650, description="Days kept text lives before `store purge`."
    )
