"""Account settings of a QuickBooks Online company: OAuth2 client, rotating refresh token, limits."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from engine.connector import ConnectorSettings

PRODUCTION_API = "https://quickbooks.api.intuit.com"
PRODUCTION_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
PRODUCTION_AUTHORIZATION_URL = "https://appcenter.intuit.com/connect/oauth2"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


class QuickBooksSettings(ConnectorSettings):
    """Secrets are SecretStr so they never show in reprs, logs or errors."""

    client_id: str
    client_secret: SecretStr
    # Omit both and run `pairsync connect`: the token and the company's realm id are kept in the state store.
    refresh_token: SecretStr | None = None
    realm_id: str = ""
    base_url: str | None = PRODUCTION_API
    token_url: str = PRODUCTION_TOKEN_URL
    authorization_url: str = PRODUCTION_AUTHORIZATION_URL
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

    @model_validator(mode="after")
    def _realm_with_token(self) -> QuickBooksSettings:
        if self.refresh_token is not None and not self.realm_id:
            raise ValueError("realm_id is needed with a refresh_token in the config (the company the token is for)")
        return self

    def api_root(self) -> str:
        """Every company endpoint lives under /v3/company/{realm_id}."""
        base = (self.base_url or PRODUCTION_API).rstrip("/")
        return f"{base}/v3/company/{self.realm_id}"
