"""Account settings of a Stripe connection: the key, the webhook secret, limits and tables."""

from __future__ import annotations

from pydantic import ConfigDict, Field, SecretStr, field_validator

from engine.connector import ConnectorSettings

# The API version this connector was written against (the installed SDK's own);
# subscription periods live on the items from 2025-03-31 onwards.
API_VERSION = "2026-10-28.endive"
STRIPE_BASE_URL = "https://api.stripe.com"

TEST_KEY_REQUESTS_PER_SECOND = 25.0
LIVE_KEY_REQUESTS_PER_SECOND = 100.0
SEARCH_REQUESTS_PER_SECOND = 20.0

DEFAULT_LIFECYCLE_STAGES: dict[str, str] = {
    "trialing": "trial",
    "active": "customer",
    "incomplete": "customer",
    "incomplete_expired": "customer",
    "past_due": "customer",
    "unpaid": "customer",
    "canceled": "churned",
}

_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")


class StripeSettings(ConnectorSettings):
    """What one Stripe account needs; secrets stay SecretStr so they never print."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str | None = STRIPE_BASE_URL
    api_key: SecretStr
    webhook_secret: SecretStr | None = None
    requests_per_second: float | None = Field(default=None, gt=0)
    search_requests_per_second: float = Field(default=SEARCH_REQUESTS_PER_SECOND, gt=0)
    max_concurrency: int = Field(default=8, ge=1, le=64)
    partitions: int = Field(default=1, ge=1, le=32)
    # False: customers only, no subscription reads, no derived fields (plans, mrr, ...) in the records.
    read_subscriptions: bool = True
    lifecycle_stages: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LIFECYCLE_STAGES))
    api_version: str = API_VERSION
    timeout_seconds: float = Field(default=30.0, gt=0)
    retry_attempts: int = Field(default=5, ge=1, le=10)
    max_retry_wait_seconds: float = Field(default=30.0, ge=0)

    @field_validator("api_key")
    @classmethod
    def _known_key_kind(cls, value: SecretStr) -> SecretStr:
        """Reject a key that is not a secret or restricted key, without echoing it."""
        if not value.get_secret_value().startswith(_KEY_PREFIXES):
            raise ValueError("api_key must be a secret (sk_) or restricted (rk_) key, test or live")
        return value

    @property
    def is_test_key(self) -> bool:
        return self.api_key.get_secret_value().startswith(("sk_test_", "rk_test_"))

    def effective_requests_per_second(self) -> float:
        """The configured rate, else Stripe's documented default for the key's mode."""
        if self.requests_per_second is not None:
            return self.requests_per_second
        return TEST_KEY_REQUESTS_PER_SECOND if self.is_test_key else LIVE_KEY_REQUESTS_PER_SECOND

    def api_base(self) -> str:
        return (self.base_url or STRIPE_BASE_URL).rstrip("/")
