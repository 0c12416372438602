"""Thin People API v1 client: two rate-limited httpx clients and Google's error envelope.

Reads and writes have separate per-minute quotas at Google, so they get
separate limiters. The write client allows one request in flight, and a
lock keeps read-merge-write sequences whole: Google asks that mutations for
one user are sent one at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from connectors.google_contacts.auth import RefreshTokenAuth
from connectors.google_contacts.settings import GoogleContactsSettings
from engine.connector import ConnectorContext, RateLimit
from engine.http import ApiTransport
from engine.http import replay_safe as method_is_replay_safe  # the default rule, extended below

Json = dict[str, Any]
Params = dict[str, str | int | list[str]]


CREATES = (":createContact", ":batchCreateContacts")


def replay_safe(request: httpx.Request) -> bool:
    """Everything but contact creates may be sent twice: updates carry etags, label changes are idempotent,
    a second label create answers 409. A create has no idempotency key, so a maybe-landed one is not resent."""
    return method_is_replay_safe(request) or not request.url.path.endswith(CREATES)


class GoogleApiError(Exception):
    """An error answer of the People API, from its `{"error": {code, message, status, details}}` envelope."""

    def __init__(self, code: int, status: str, message: str, reason: str | None = None) -> None:
        super().__init__(f"People API error {code} {status}: {message}")
        self.code = code
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def is_conflict(self) -> bool:
        """An etag mismatch: the contact changed since it was read."""
        return self.code == 400 and self.status == "FAILED_PRECONDITION" and self.reason != "EXPIRED_SYNC_TOKEN"

    @property
    def is_expired_sync_token(self) -> bool:
        return self.code == 400 and self.reason == "EXPIRED_SYNC_TOKEN"

    @property
    def is_refused_sync_token(self) -> bool:
        """`Sync token is not valid.` (INVALID_ARGUMENT): a token of another account or with other parameters."""
        return self.code == 400 and self.status == "INVALID_ARGUMENT" and "sync token" in self.message.lower()


UNREADABLE = "UNREADABLE_RESPONSE"  # our status for a success whose body is not a JSON object


def raise_for_error(response: httpx.Response) -> Json:
    """The JSON body of a success, or the API's error as a `GoogleApiError`.

    A success with a body that is not a JSON object is an error too: a garbled
    listing page read as `{}` would look like the end of the contacts.
    """
    try:
        payload = response.json() if response.content else {}
    except ValueError:
        payload = None
    if response.status_code < 400:
        if not isinstance(payload, dict):
            raise GoogleApiError(response.status_code, UNREADABLE, "the answer's body is not a JSON object")
        return payload
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        raise GoogleApiError(response.status_code, "UNKNOWN", response.reason_phrase or "no error body")
    reasons = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict) and d.get("reason")]
    raise GoogleApiError(
        int(error.get("code", response.status_code)),
        str(error.get("status", "UNKNOWN")),
        str(error.get("message", "")),
        reasons[0] if reasons else None,
    )


class PeopleApi:
    """The HTTP side of the connector; knows paths and quotas, nothing about flat fields."""

    def __init__(self, settings: GoogleContactsSettings, context: ConnectorContext) -> None:
        self.settings = settings

        def transport(per_minute: float, concurrency: int) -> ApiTransport:
            return ApiTransport(
                context,
                RateLimit(requests=per_minute, per_seconds=60.0, max_concurrency=concurrency),
                attempts=settings.retry_attempts,
                max_wait=settings.max_retry_wait_seconds,
                is_replay_safe=replay_safe,
            )

        timeout = httpx.Timeout(settings.timeout_seconds)
        token_transport = transport(settings.read_requests_per_minute, 1)
        self._token_client = httpx.AsyncClient(transport=token_transport, timeout=timeout)
        self.auth = RefreshTokenAuth(
            self._token_client,
            settings.token_url,
            settings.client_id,
            settings.client_secret.get_secret_value(),
            settings.refresh_token.get_secret_value() if settings.refresh_token else "",
            context,
        )
        common: dict[str, Any] = {"base_url": settings.api_url, "auth": self.auth, "timeout": timeout}
        self.read_transport = transport(settings.read_requests_per_minute, 4)
        self.write_transport = transport(settings.write_requests_per_minute, 1)
        self._reads = httpx.AsyncClient(transport=self.read_transport, **common)
        self._writes = httpx.AsyncClient(transport=self.write_transport, **common)
        self.mutations = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PeopleApi(base_url={self.settings.api_url!r})"

    async def read(self, path: str, params: Params | None = None) -> Json:
        return raise_for_error(await self._reads.get(path, params=params))

    async def write(self, method: str, path: str, body: Json | None = None, params: Params | None = None) -> Json:
        """One mutation. Callers hold `mutations` when they read first and write after."""
        response = await self._writes.request(method, path, json=body, params=params)
        return raise_for_error(response)

    async def aclose(self) -> None:
        for client in (self._reads, self._writes, self._token_client):
            await client.aclose()
