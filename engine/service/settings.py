"""How the service is tuned: read once from the environment, checked before anything listens."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import UserError
from engine.secrets import REDACTOR

TOKEN_VARIABLE = "PAIRSYNC_API_TOKEN"


class ServiceError(UserError):
    """The service cannot start as asked (an open address without an API token)."""


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServiceSettings:
    """Timings are seconds. `token` None means the API is open, which is allowed on loopback only."""

    token: str | None = None
    shutdown_grace: float = 20.0
    webhook_debounce: float = 1.0
    config_watch: float = 2.0
    delivery_memory_hours: float = 72.0
    max_webhook_bytes: int = 1_000_000
    body_timeout: float = 10.0  # a request body that has not arrived whole by then is answered 408

    @classmethod
    def from_env(cls, host: str, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        token = (env.get(TOKEN_VARIABLE) or "").strip() or None
        if not is_loopback(host):
            _check_token(host, token)
        if token is not None:
            REDACTOR.add(token)
        return cls(
            token=token,
            shutdown_grace=_seconds(env, "PAIRSYNC_SHUTDOWN_GRACE", cls.shutdown_grace),
            webhook_debounce=_seconds(env, "PAIRSYNC_WEBHOOK_DEBOUNCE", cls.webhook_debounce),
            config_watch=_seconds(env, "PAIRSYNC_CONFIG_WATCH", cls.config_watch),
            body_timeout=_seconds(env, "PAIRSYNC_BODY_TIMEOUT", cls.body_timeout),
        )


MIN_TOKEN_LENGTH = 32
MAKE_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def _check_token(host: str, token: str | None) -> None:
    """Beyond loopback the API needs a token of real strength: at least 32 characters (128 bits and more)."""
    if token is None:
        raise ServiceError(
            f"serving on {host} reaches beyond this machine: set {TOKEN_VARIABLE} so the API asks for it "
            f"(or listen on 127.0.0.1). Make one with: {MAKE_TOKEN}"
        )
    if len(token) < MIN_TOKEN_LENGTH or len(set(token)) < 8:
        raise ServiceError(
            f"{TOKEN_VARIABLE} is too weak to serve on {host}: it needs at least {MIN_TOKEN_LENGTH} random "
            f"characters (it has {len(token)}). Make one with: {MAKE_TOKEN}"
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ServiceError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise ServiceError(f"{name} must not be negative")
    return value
