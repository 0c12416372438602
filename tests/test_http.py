"""The shared HTTP transport: counting, retries of 429/5xx/timeouts, and Retry-After honoured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from engine.connector import ConnectorContext, RateLimit
from engine.http import ApiTransport, retry_after_seconds

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[float]]:
    """An inner transport answering from a script, recording when each attempt arrived."""
    script = list(responses)
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        item = script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler), arrivals


def fetch(inner: httpx.AsyncBaseTransport, context: ConnectorContext, attempts: int = 4) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = ApiTransport(context, RateLimit(requests=1000), inner=inner, attempts=attempts, max_wait=1.0)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return await client.get("/v1/things")

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("first", "why"),
    [
        (httpx.Response(429, headers={"Retry-After": "0.2"}), "rate limited"),
        (httpx.Response(500), "server error"),
        (httpx.Response(502), "bad gateway"),
        (httpx.Response(503), "unavailable"),
        (httpx.ConnectError("reset"), "connection reset"),
        (httpx.ReadTimeout("slow"), "timeout"),
    ],
)
def test_transient_failures_are_retried(first: httpx.Response | Exception, why: str) -> None:
    inner, _ = scripted(first, httpx.Response(200, json={"ok": True}))
    context = ConnectorContext("test")
    response = fetch(inner, context)
    assert response.status_code == 200, why
    assert context.requests == 2, "every attempt is counted"


def test_retry_after_is_honoured() -> None:
    inner, arrivals = scripted(httpx.Response(429, headers={"Retry-After": "0.3"}), httpx.Response(200))
    fetch(inner, ConnectorContext("test"))
    assert arrivals[1] - arrivals[0] >= 0.29


@pytest.mark.parametrize("status", [400, 401, 404, 409])
def test_client_errors_are_not_retried(status: int) -> None:
    inner, _ = scripted(httpx.Response(status))
    context = ConnectorContext("test")
    assert fetch(inner, context).status_code == status
    assert context.requests == 1


def test_after_the_last_attempt_the_error_response_is_returned() -> None:
    inner, _ = scripted(*[httpx.Response(503) for _ in range(3)])
    context = ConnectorContext("test")
    assert fetch(inner, context, attempts=3).status_code == 503
    assert context.requests == 3


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None)],
)
def test_retry_after_forms(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": header})) == seconds


def post(inner: httpx.AsyncBaseTransport, context: ConnectorContext, headers: dict[str, str] | None = None,
         attempts: int = 4) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = ApiTransport(context, RateLimit(requests=1000), inner=inner, attempts=attempts, max_wait=0.1)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return await client.post("/v1/things", json={"name": "Ada"}, headers=headers or {})

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("failure", "headers", "retried"),
    [
        (httpx.Response(500), {}, False),
        (httpx.Response(502), {}, False),
        (httpx.Response(500), {"Idempotency-Key": "k1"}, True),
        (httpx.Response(429), {}, True),
        (httpx.Response(503), {}, True),
        (httpx.ConnectError("refused"), {}, True),
        (httpx.RemoteProtocolError("dropped"), {"Idempotency-Key": "k1"}, True),
    ],
    ids=["500-no-key", "502-no-key", "500-with-key", "429", "503", "not-connected", "dropped-with-key"],
)
def test_a_write_is_sent_again_only_when_a_replay_is_harmless(
    failure: httpx.Response | Exception, headers: dict[str, str], retried: bool
) -> None:
    inner, arrivals = scripted(failure, httpx.Response(200))
    response = post(inner, ConnectorContext("test"), headers)
    assert len(arrivals) == (2 if retried else 1)
    if isinstance(failure, httpx.Response):
        assert response.status_code == (200 if retried else failure.status_code)


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")])
def test_a_write_that_may_have_landed_is_not_sent_twice_without_a_key(failure: Exception) -> None:
    inner, arrivals = scripted(failure, httpx.Response(200))
    with pytest.raises(type(failure)):
        post(inner, ConnectorContext("test"))
    assert len(arrivals) == 1, "the engine's journal decides next run; a blind resend could duplicate"
