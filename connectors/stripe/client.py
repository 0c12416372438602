"""The official Stripe SDK, wired to the engine's transport: counted, rate-limited, retried.

The SDK builds and parses every request; underneath, its httpx client goes
through `ApiTransport`, so the engine counts each attempt, the account's
rate limit holds (search has its own, lower one) and 429/5xx/timeouts are
retried honouring Retry-After and Stripe-Should-Retry. The SDK's own
retries stay off, so a request is never retried twice over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import stripe

from engine.connector import ConnectorContext, RateLimit
from engine.http import RETRY_STATUSES, ApiTransport

from .settings import StripeSettings

SHOULD_RETRY_HEADER = "stripe-should-retry"


def should_retry(response: httpx.Response) -> bool:
    """Stripe's own advice first (Stripe-Should-Retry), else 409, 429 and 5xx."""
    advice = response.headers.get(SHOULD_RETRY_HEADER)
    if advice == "false":
        return False
    if advice == "true":
        return True
    return response.status_code == 409 or response.status_code in RETRY_STATUSES


class StripeTransport(httpx.AsyncBaseTransport):
    """Sends search requests through their own limit and everything else through the account's."""

    def __init__(self, main: ApiTransport, search: ApiTransport) -> None:
        self.main = main
        self.search = search

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self.search if request.url.path.endswith("/search") else self.main
        return await target.handle_async_request(request)

    async def aclose(self) -> None:
        await self.main.aclose()
        await self.search.aclose()


class EngineHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client with the engine's transport underneath."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.engine_client = httpx.AsyncClient(transport=transport)
        self._client_async = self.engine_client

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        """The SDK's request arguments, with the encoded form body as `content` (httpx deprecates `data`)."""
        args: list[Any] = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs = args[1]
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return args

    async def aclose(self) -> None:
        """Close the connection pools (the transport's too)."""
        await self.engine_client.aclose()


def build_transport(settings: StripeSettings, context: ConnectorContext) -> StripeTransport:
    def transport(requests_per_second: float) -> ApiTransport:
        return ApiTransport(
            context,
            RateLimit(requests=requests_per_second, max_concurrency=settings.max_concurrency),
            attempts=settings.retry_attempts,
            max_wait=settings.max_retry_wait_seconds,
            should_retry=should_retry,
            is_replay_safe=lambda _request: True,  # creates carry an Idempotency-Key; updates set values
        )

    return StripeTransport(
        transport(settings.effective_requests_per_second()), transport(settings.search_requests_per_second)
    )


def build_client(settings: StripeSettings, http: EngineHTTPXClient) -> stripe.StripeClient:
    """A StripeClient pinned to the settings' API version and pointed at `base_url`."""
    return stripe.StripeClient(
        settings.api_key.get_secret_value(),
        stripe_version=settings.api_version,
        base_addresses={"api": settings.api_base()},
        http_client=http,
        max_network_retries=0,
    )
