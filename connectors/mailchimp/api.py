"""Thin Marketing API v3 client: one counted, rate-limited httpx client and Mailchimp's problem+json errors.

Mailchimp allows ten simultaneous connections per key and answers 429 beyond,
so the transport keeps at most `max_connections` requests in flight and the
connection pool holds no more sockets than that. Every request the connector
sends may be sent twice: member upserts are PUTs keyed by the subscriber
hash, tag changes set a state, and a replayed batch subscribe finds the
members it already added (which `writes.py` then updates with a PUT).
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.mailchimp.settings import MailchimpSettings
from engine.connector import ConnectorContext, RateLimit
from engine.http import ApiTransport

Json = dict[str, Any]
Params = dict[str, str | int]

COMPLIANCE_TITLES = frozenset({"Member In Compliance State", "Forgotten Email Not Subscribed"})
UNREADABLE = "Unreadable Response"


class MailchimpError(Exception):
    """An error answer of the Marketing API, from its `application/problem+json` body."""

    def __init__(self, status: int, title: str, detail: str, errors: list[Json] | None = None) -> None:
        fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors or [] if e.get("field"))
        super().__init__(f"Mailchimp {status} {title}: {detail}" + (f" ({fields})" if fields else ""))
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def compliance(self) -> bool:
        """A member Mailchimp will not (re)subscribe: unsubscribed, bounced, or permanently deleted."""
        return self.title in COMPLIANCE_TITLES


def key_refused(error: BaseException) -> bool:
    """A 401: the API key or token was revoked or is wrong; only reconnecting the account helps."""
    return isinstance(error, MailchimpError) and error.status == 401


def parse(response: httpx.Response) -> Json:
    """The JSON body of a success (empty for 204), or the API's error as a `MailchimpError`."""
    try:
        payload = response.json() if response.content else {}
    except ValueError:
        payload = None
    if response.status_code < 400:
        if not isinstance(payload, dict):
            raise MailchimpError(response.status_code, UNREADABLE, "the answer's body is not a JSON object")
        return payload
    if not isinstance(payload, dict):
        raise MailchimpError(response.status_code, response.reason_phrase or "Error", "no problem+json body")
    errors = [e for e in payload.get("errors") or [] if isinstance(e, dict)]
    return _raise(response.status_code, payload, errors)


def _raise(status: int, payload: Json, errors: list[Json]) -> Json:
    raise MailchimpError(int(payload.get("status") or status), str(payload.get("title") or "Error"),
                         str(payload.get("detail") or ""), errors)


class MarketingApi:
    """The HTTP side of the connector; knows the API root, auth and limits, nothing about flat fields."""

    def __init__(self, settings: MailchimpSettings, context: ConnectorContext) -> None:
        self.settings = settings
        limit = RateLimit(requests=settings.requests_per_second, per_seconds=1.0,
                          max_concurrency=settings.max_connections)
        pool = httpx.Limits(max_connections=settings.max_connections,
                            max_keepalive_connections=settings.max_connections)
        self.transport = ApiTransport(
            context,
            limit,
            inner=httpx.AsyncHTTPTransport(limits=pool),
            attempts=settings.retry_attempts,
            max_wait=settings.max_retry_wait_seconds,
            is_replay_safe=lambda _request: True,
        )
        key = settings.api_key.get_secret_value()
        auth: httpx.Auth | None = httpx.BasicAuth("pairsync", key) if settings.auth == "basic" else None
        headers = {"Authorization": f"Bearer {key}"} if settings.auth == "bearer" else {}
        self._client = httpx.AsyncClient(
            base_url=settings.api_url, transport=self.transport, auth=auth, headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds),
        )

    def __repr__(self) -> str:
        return f"MarketingApi(api_url={self.settings.api_url!r})"

    async def get(self, path: str, params: Params | None = None) -> Json:
        return parse(await self._client.get(path, params=params))

    async def send(self, method: str, path: str, body: Json | None = None, params: Params | None = None) -> Json:
        return parse(await self._client.request(method, path, json=body, params=params))

    async def get_with_date(self, path: str, params: Params | None = None) -> tuple[Json, str | None]:
        """A GET's body and the server's `Date` header (the clock the incremental cursor uses)."""
        response = await self._client.get(path, params=params)
        return parse(response), response.headers.get("date")

    async def aclose(self) -> None:
        await self._client.aclose()
