"""Account settings of a Google Contacts connection.

Secrets are `SecretStr`, so they never show in reprs, logs or validation errors.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from engine.connector import ConnectorSettings

PEOPLE_API = "https://people.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
AUTHORIZATION_URL = "https://accounts.google.com/o/oauth2/v2/auth"
CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"


class GoogleContactsSettings(ConnectorSettings):
    """OAuth2 client and refresh token of one Google account, plus the quota this connector may use."""

    base_url: str | None = PEOPLE_API
    token_url: str = TOKEN_URL
    authorization_url: str = AUTHORIZATION_URL
    client_id: str
    client_secret: SecretStr
    # Omit it and run `pairsync connect`: the token is then kept encrypted in the state store.
    refresh_token: SecretStr | None = None
    # Google's per-user quotas are per minute; stay well below them by default.
    read_requests_per_minute: float = Field(default=90, gt=0)
    write_requests_per_minute: float = Field(default=90, gt=0)
    default_region: str = Field(default="US", min_length=2, max_length=2)
    page_size: int = Field(default=1000, ge=1, le=1000)
    timeout_seconds: float = Field(default=30.0, gt=0)
    retry_attempts: int = Field(default=5, ge=1)
    max_retry_wait_seconds: float = Field(default=30.0, ge=0)

    @property
    def api_url(self) -> str:
        return (self.base_url or PEOPLE_API).rstrip("/")
