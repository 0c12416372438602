"""One httpx transport for every HTTP connector: counted, rate-limited, retried.

Connectors build `httpx.AsyncClient(transport=ApiTransport(...))` and get the
engine's request counting, the declared rate limit (aiolimiter) and retries
of 429, 5xx, timeouts and resets with backoff that honours Retry-After
(tenacity), without writing any of it again. Bodies are read inside the
retry loop, so a connection dropped halfway through an answer is retried
like one dropped before it, and a success whose JSON body does not parse
(a garbled answer) is retried like a 5xx. A write that may have been
processed (a timeout or a 500 after sending) is sent again only when a replay
is harmless: an idempotent method or an idempotency key (or the connector
says so, as QuickBooks does for its `requestid`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from engine.connector import ConnectorContext, RateLimit

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RetryableResponse(Exception):
    """A response worth another try; carries the wait the server asked for."""

    def __init__(self, response: httpx.Response, wait: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.wait = wait


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds, from either of its two forms."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _default_should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def unreadable_json(response: httpx.Response) -> bool:
    """A success that says it is JSON but does not parse: cut short or garbled on the way."""
    if response.status_code >= 300 or not response.content:
        return False
    if "json" not in response.headers.get("content-type", ""):
        return False
    try:
        json.loads(response.content)
    except ValueError:
        return True
    return False


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_PROCESSED_STATUSES = frozenset({429, 503})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAYBE_PROCESSED = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def replay_safe(request: httpx.Request) -> bool:
    """Whether sending a request twice is harmless: an idempotent method, or an idempotency key."""
    return request.method in IDEMPOTENT_METHODS or "idempotency-key" in request.headers


def _worth_retrying(error: BaseException, safe: bool) -> bool:
    """Retry what was surely not processed; retry what may have been only when a replay is harmless."""
    if isinstance(error, RetryableResponse):
        return safe or error.response.status_code in NOT_PROCESSED_STATUSES
    if isinstance(error, NOT_SENT):
        return True
    return isinstance(error, MAYBE_PROCESSED) and safe


def paced_limiter(rate_limit: RateLimit) -> AsyncLimiter:
    """The declared rate, spread evenly: a burst no larger than the requests allowed in flight.

    A bucket as large as the whole allowance (90 a minute) lets 90 requests out at once and
    the API answers most of them 429; pacing keeps to the rate the API actually enforces.
    """
    requests = max(rate_limit.requests, 1e-6)
    burst = max(1.0, min(requests, float(rate_limit.max_concurrency)))
    return AsyncLimiter(burst, rate_limit.per_seconds * burst / requests)


class ApiTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with counting, a rate limit, bounded concurrency and retries."""

    def __init__(
        self,
        context: ConnectorContext,
        rate_limit: RateLimit,
        inner: httpx.AsyncBaseTransport | None = None,
        attempts: int = 5,
        max_wait: float = 30.0,
        should_retry: Callable[[httpx.Response], bool] = _default_should_retry,
        is_replay_safe: Callable[[httpx.Request], bool] = replay_safe,
    ) -> None:
        self.context = context
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.limiter = paced_limiter(rate_limit)
        self.in_flight = asyncio.Semaphore(rate_limit.max_concurrency)
        self.attempts = attempts
        self.max_wait = max_wait
        self.should_retry = should_retry
        self.is_replay_safe = is_replay_safe

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        safe = self.is_replay_safe(request)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda error: _worth_retrying(error, safe)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send_once(request)
        except RetryableResponse as exhausted:
            return exhausted.response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(self, request: httpx.Request) -> httpx.Response:
        async with self.in_flight:
            await self.limiter.acquire()
            self.context.count_request()
            response = await self.inner.handle_async_request(request)
            await response.aread()  # a drop halfway through the body raises here, inside the retry
        if self.should_retry(response) or unreadable_json(response):
            if response.status_code == 429:
                self.context.count_rate_limit_wait()
            raise RetryableResponse(response, retry_after_seconds(response))
        return response

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableResponse) and error.wait is not None:
            return float(min(error.wait, self.max_wait))
        backoff: float = 0.1 * 2 ** (state.attempt_number - 1)
        return min(backoff, self.max_wait)

    async def aclose(self) -> None:
        await self.inner.aclose()
