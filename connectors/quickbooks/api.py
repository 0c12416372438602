"""The HTTP client of one QuickBooks company: counted, rate-limited, retried, authenticated.

Every call goes through the engine's ApiTransport. Throttling shows up as
HTTP 429 or as fault code 3001 (which can come with another status), so the
transport underneath reads small error bodies to let `should_retry` see it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as quote_path

import httpx
from aiolimiter import AsyncLimiter

from connectors.quickbooks.auth import BearerAuth, TokenManager
from connectors.quickbooks.errors import OBJECT_NOT_FOUND, THROTTLED, QuickBooksError, parse_fault
from connectors.quickbooks.settings import QuickBooksSettings
from engine.connector import ConnectorContext, RateLimit
from engine.http import RETRY_STATUSES, ApiTransport


class BodyReadingTransport(httpx.AsyncBaseTransport):
    """Reads error bodies before the retry decision, so a 3001 fault can be recognised."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code >= 400:
            await response.aread()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def should_retry(response: httpx.Response) -> bool:
    """429, 5xx, and the throttle fault 3001 whatever its status."""
    if response.status_code in RETRY_STATUSES:
        return True
    if response.status_code < 400:
        return False
    try:
        fault = parse_fault(response.json(), response.status_code)
    except ValueError:
        return False
    return fault is not None and fault.has(THROTTLED)


class QuickBooksApi:
    """Query, read, CDC, single writes and batches against /v3/company/{realm_id}."""

    def __init__(self, settings: QuickBooksSettings, context: ConnectorContext) -> None:
        self.settings = settings
        limit = RateLimit(
            requests=settings.requests_per_minute, per_seconds=60, max_concurrency=settings.max_concurrency
        )
        self.token_client = httpx.AsyncClient(
            transport=self._transport(context, limit), timeout=settings.timeout_seconds
        )
        self.tokens = TokenManager(settings, context, self.token_client)
        self.http = httpx.AsyncClient(
            base_url=settings.api_root(),
            transport=self._transport(context, limit),
            auth=BearerAuth(self.tokens),
            headers={"Accept": "application/json"},
            timeout=settings.timeout_seconds,
        )
        self.batch_limiter = AsyncLimiter(settings.batch_requests_per_minute, 60)

    def _transport(self, context: ConnectorContext, limit: RateLimit) -> ApiTransport:
        return ApiTransport(context, limit, inner=BodyReadingTransport(), attempts=self.settings.retry_attempts,
                            max_wait=self.settings.retry_max_wait, should_retry=should_retry,
                            is_replay_safe=lambda _request: True)  # every write carries a requestid

    async def _call(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None) -> Any:
        params = {**(params or {}), "minorversion": str(self.settings.minor_version)}
        response = await self.http.request(method, path, params=params, json=body)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400 or parse_fault(payload) is not None:
            raise QuickBooksError.from_response(response.status_code, payload)
        if not isinstance(payload, dict):  # garbled on the way: never read it as an empty answer
            raise QuickBooksError(f"QuickBooks answered HTTP {response.status_code} with a body that is not a "
                                  "JSON object", None, response.status_code)
        return payload

    async def query(self, statement: str) -> tuple[list[dict[str, Any]], str | None]:
        """The customers a statement selects, and the server time of the answer."""
        payload = await self._call("GET", "/query", {"query": statement})
        return list(payload.get("QueryResponse", {}).get("Customer", [])), payload.get("time")

    async def read(self, record_id: str) -> dict[str, Any] | None:
        try:
            payload = await self._call("GET", f"/customer/{quote_path(record_id, safe='')}")
        except QuickBooksError as error:
            if error.has(OBJECT_NOT_FOUND) or error.status == 404:
                return None
            raise
        customer: dict[str, Any] = payload["Customer"]
        return customer

    async def write(self, customer: dict[str, Any], request_id: str) -> dict[str, Any]:
        payload = await self._call("POST", "/customer", {"requestid": request_id}, customer)
        written: dict[str, Any] = payload["Customer"]
        return written

    async def cdc(self, changed_since: str) -> tuple[list[dict[str, Any]], str | None]:
        """Customers changed since a time (oldest first, at most 1000), and the server time."""
        payload = await self._call("GET", "/cdc", {"entities": "Customer", "changedSince": changed_since})
        customers: list[dict[str, Any]] = []
        for block in payload.get("CDCResponse", []):
            for response in block.get("QueryResponse", []):
                customers.extend(response.get("Customer", []))
        return customers, payload.get("time")

    async def batch(self, items: list[dict[str, Any]], request_id: str) -> dict[str, dict[str, Any]]:
        """BatchItemResponse entries by bId (40 batch requests a minute at most)."""
        await self.batch_limiter.acquire()
        payload = await self._call("POST", "/batch", {"requestid": request_id}, {"BatchItemRequest": items})
        return {str(item.get("bId")): item for item in payload.get("BatchItemResponse", [])}

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.token_client.aclose()
