"""Service settings: one pydantic-settings object read from CUSTTYPE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from custtype.errors import CusttypeError

MAX_BATCH_ITEMS = 1000
MAX_BODY_BYTES = 5_000_000


class Settings(BaseSettings):
    """What the service needs to start; every field can be set as CUSTTYPE_<NAME>.

    Example: ``CUSTTYPE_API_KEY=s3cret CUSTTYPE_CORS_ORIGINS=https://desk.example.com``
    """

    model_config = SettingsConfigDict(env_prefix="CUSTTYPE_", extra="ignore")

    model: Path | None = Field(default=None, description="Model directory (default: shipped).")
    playbook: Path | None = Field(default=None, description="Playbook override file (YAML).")
    automation: Path | None = Field(
        default=None, description="Automation policy file (YAML) replacing the shipped one."
    )
    remember: bool = Field(
        default=True,
        description="Keep predictions in the feedback store (CUSTTYPE_STORE_URL) so agents can "
        "confirm or correct them; off: no prediction_id and nothing beyond 'suggest'.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="When set, /v1/webhooks/ticket needs X-Custtype-Signature: sha256=<HMAC>.",
    )
    api_key: SecretStr | None = Field(
        default=None, description="When set, /v1/* needs this value in the X-API-Key header."
    )
    cors_origins: str = Field(
        default="", description="Comma-separated origins allowed by CORS; empty turns CORS off."
    )
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, gt=0, le=50_000_000)
    max_batch_items: int = Field(default=MAX_BATCH_ITEMS, gt=0, le=MAX_BATCH_ITEMS)
    max_in_flight: int = Field(
        default=256, gt=0, description="Concurrent /v1 requests per process before 429."
    )
    micro_batch: int = Field(
        default=8, ge=1, le=64, description="Concurrent single messages scored in one call."
    )
    warmup: bool = Field(default=True, description="Score one message per language at start.")
    head_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds to send the request line and headers."
    )
    body_timeout: float = Field(
        default=15.0, gt=0, le=300, description="Seconds to send the whole request body."
    )

    def origins(self) -> list[str]:
        """The CORS origins as a list (empty: CORS off)."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def webhook_key(self) -> bytes | None:
        """The webhook's shared secret as bytes, or None when unset/empty."""
        if self.webhook_secret is None or not self.webhook_secret.get_secret_value():
            return None
        return self.webhook_secret.get_secret_value().encode("utf-8")

    def key_bytes(self) -> bytes | None:
        """The API key as bytes for a constant-time comparison, or None when unset/empty."""
        if self.api_key is None or not self.api_key.get_secret_value():
            return None
        return self.api_key.get_secret_value().encode("utf-8")


def read_settings() -> Settings:
    """Settings from the CUSTTYPE_* variables; a bad value is a one-line error naming it."""
    from pydantic import ValidationError

    from custtype.validation import describe

    try:
        return Settings()
    except ValidationError as exc:
        where = lambda loc: f"CUSTTYPE_{'_'.join(loc).upper()}"  # noqa: E731
        raise CusttypeError(f"Invalid setting: {describe(exc, where)}.") from None
