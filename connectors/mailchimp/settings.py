"""Account settings of a Mailchimp audience.

The API key ends in its data centre (`...-us19`), which names the host
(`https://us19.api.mailchimp.com`); `base_url` overrides it, as for every
connector. Secrets are `SecretStr`, so they never show in reprs or errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from engine.connector import ConnectorSettings

API_PATH = "/3.0"
MAX_CONNECTIONS = 10  # Mailchimp answers 429 beyond 10 simultaneous connections per key
NewStatus = Literal["subscribed", "pending", "unsubscribed", "transactional"]


def data_centre(api_key: str) -> str | None:
    """The data centre an API key names after its last dash (`us19`), or None."""
    _, dash, centre = api_key.rpartition("-")
    return centre if dash and centre.isalnum() else None


class MailchimpSettings(ConnectorSettings):
    """One audience (`list_id`) of one Mailchimp account, and how pairsync writes into it."""

    api_key: SecretStr = Field(description="API key (`...-us19`) or, with `auth: bearer`, an OAuth access token")
    list_id: str = Field(min_length=1, description="the audience id (Audience settings, 'Audience ID')")
    auth: Literal["basic", "bearer"] = "basic"
    status_if_new: NewStatus = Field(
        default="subscribed",
        description="status of members pairsync adds; an existing member's status is never changed by a write",
    )
    page_size: int = Field(default=1000, ge=1, le=1000)
    batch_size: int = Field(default=500, ge=1, le=500)
    max_connections: int = Field(default=MAX_CONNECTIONS, ge=1, le=MAX_CONNECTIONS)
    # pacing only: Mailchimp publishes no per-second limit; it enforces the ten connections
    requests_per_second: float = Field(default=50.0, gt=0)
    timeout_seconds: float = Field(default=120.0, gt=0)
    retry_attempts: int = Field(default=5, ge=1)
    max_retry_wait_seconds: float = Field(default=30.0, ge=0)
    batch_operations_from: int = Field(
        default=250, ge=0, description="send this many updates or more as one /batches job (0: never)"
    )
    batch_poll_seconds: float = Field(default=5.0, ge=0)
    batch_timeout_seconds: float = Field(default=900.0, gt=0)
    webhook_token: SecretStr | None = Field(
        default=None, description="the secret last path segment of this account's webhook URL"
    )

    @model_validator(mode="after")
    def _host_is_known(self) -> MailchimpSettings:
        if self.base_url is None and data_centre(self.api_key.get_secret_value()) is None:
            raise PydanticCustomError(  # `at` points the config error at the api_key line
                "no_data_centre",
                "the key has no data-centre suffix (like '-us19'); use the whole key, or set base_url to the API host",
                {"at": ("api_key",)},
            )
        return self

    @property
    def api_url(self) -> str:
        """The API root with its version path: `https://us19.api.mailchimp.com/3.0`."""
        if self.base_url:
            return self.base_url.rstrip("/") + API_PATH
        centre = data_centre(self.api_key.get_secret_value())
        return f"https://{centre}.api.mailchimp.com{API_PATH}"
