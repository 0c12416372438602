"""Account settings of a QuickBooks Online company: OAuth2 client, rotating refresh token, limits."""

from __future__ import annotations

from pydantic import Field, SecretStr

from engine.connector import ConnectorSettings

PRODUCTION_API = "https://quickbooks.api.intuit.com"
PRODUCTION_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"


class QuickBooksSettings(ConnectorSettings):
    """Secrets are SecretStr so they never show in reprs, logs or errors."""

    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    realm_id: str
    base_url: str | None = PRODUCTION_API
    token_url: str = PRODUCTION_TOKEN_URL
    minor_version: int = 75
    webhook_verifier_token: SecretStr | None = None
    requests_per_minute: float = Field(default=500, gt=0)
    max_concurrency: int = Field(default=10, ge=1, le=10)
    batch_requests_per_minute: float = Field(default=40, gt=0)
    batch_size: int = Field(default=30, ge=1, le=30)
    page_size: int = Field(default=1000, ge=1, le=1000)
    cdc_overlap_seconds: float = Field(default=60, ge=0)
    retry_attempts: int = Field(default=5, ge=1)
    retry_max_wait: float = Field(default=60, ge=0)
    timeout_seconds: float = Field(default=120, gt=0)

    def api_root(self) -> str:
        """Every company endpoint lives under /v3/company/{realm_id}."""
        base = (self.base_url or PRODUCTION_API).rstrip("/")
        return f"{base}/v3/company/{self.realm_id}"
