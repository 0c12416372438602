"""The `notify:` list of a config: where messages go and which events each target hears about."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_PERIOD = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class EventKind(StrEnum):
    RUN_FAILED = "run_failed"
    RECORDS_FAILING = "records_failing"
    BREAKER_TRIPPED = "breaker_tripped"
    NEEDS_RECONNECT = "needs_reconnect"
    RECOVERED = "recovered"


class Target(BaseModel):
    """What every target shares: the events it hears about and how often at most."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    events: list[EventKind] = Field(default_factory=lambda: list(EventKind), description="Default: every event.")
    period: str = Field("1h", description="At most one message per connection and event kind in this time.")
    failing_runs: int = Field(3, ge=1, description="records_failing: a record still failing after this many runs.")

    @field_validator("period")
    @classmethod
    def _period_shape(cls, value: str) -> str:
        if not _PERIOD.match(value.strip()):
            raise ValueError("expected a period such as 30m, 1h or 1d")
        return value

    def period_delta(self) -> timedelta:
        match = _PERIOD.match(self.period.strip())
        assert match is not None
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})

    def key(self) -> str:
        """Identifies the target in the notices table (no secrets)."""
        raise NotImplementedError


class WebhookTarget(Target):
    """A JSON POST, signed with HMAC-SHA256 of the body in `X-Pairsync-Signature` when `secret` is set."""

    kind: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    attempts: int = Field(4, ge=1, le=10, description="Tries before giving up (the wait doubles each time).")
    backoff_seconds: float = Field(1.0, gt=0, le=60, description="The first wait between tries.")

    def key(self) -> str:
        return f"webhook:{self.url}"


class SlackTarget(Target):
    """A Slack incoming webhook (`https://hooks.slack.com/services/...`, best as `${SLACK_WEBHOOK_URL}`)."""

    kind: Literal["slack"]
    url: SecretStr
    attempts: int = Field(4, ge=1, le=10)
    backoff_seconds: float = Field(1.0, gt=0, le=60)

    def key(self) -> str:
        return "slack:" + hashlib.sha256(self.url.get_secret_value().encode()).hexdigest()[:16]


class EmailTarget(Target):
    """Email over SMTP; STARTTLS by default; credentials as `${VAR}` references."""

    kind: Literal["email"]
    host: str
    port: int = 587
    starttls: bool = True
    ca_file: str | None = Field(None, description="Trust this CA for STARTTLS (a private mail server).")
    username: str | None = None
    password: SecretStr | None = None
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)

    def key(self) -> str:
        return f"email:{self.host}:{','.join(self.to)}"


NotifyTarget = Annotated[WebhookTarget | SlackTarget | EmailTarget, Field(discriminator="kind")]
