"""B4: the Stripe connector's full listing against the raw SDK's auto-pagination over one sandbox.

Like for like is the connector reading customers only (`read_subscriptions: false`); with the
derived fields it also expands subscriptions on each page and lists canceled ones alongside.
Every listing's requests are counted by the sandbox as well; the connector's own counter must agree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import stripe

from bench.scenarios import STRIPE_REALISTIC, Result, _require, require_same_counts
from connectors.stripe import StripeConnector, StripeSettings
from connectors.stripe.pagination import PAGE_SIZE as STRIPE_PAGE
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import ConnectorContext
from engine.sandbox import Knobs, SandboxServer


@dataclass(frozen=True)
class Listing:
    """One full listing: records seen, wall time, and requests by both counters (the SDK has no engine one)."""

    seen: int
    seconds: float
    engine_requests: int
    server_requests: int


def b4_listing(count: int) -> Result:
    sandbox = StripeSandbox()
    sandbox.seed(count)
    with SandboxServer(sandbox, knobs=Knobs(latency_ms=STRIPE_REALISTIC.latency_ms)) as server:
        sdk = _counted(server, lambda: asyncio.run(_sdk_listing(server)))
        runs = {
            (p, derived): _counted(server, _connector(server, p, derived)) for p in (1, 4) for derived in (False, True)
        }
    _require(sdk.seen == count and all(c.seen == count for c in runs.values()), "B4", {"sdk": sdk, **runs})
    for (partitions, derived), run in runs.items():
        name = f"B4 ({partitions} partitions, derived fields {derived})"
        require_same_counts(name, {"stripe": run.engine_requests}, {"stripe": run.server_requests})
    ratio = {key: run.seconds / sdk.seconds for key, run in runs.items()}
    return {
        "id": "B4",
        "name": "listing customers: connector vs raw stripe SDK auto-pagination",
        "size": count,
        "sdk_seconds": round(sdk.seconds, 2),
        "customers_only_seconds": round(runs[(1, False)].seconds, 2),
        "with_derived_seconds": round(runs[(1, True)].seconds, 2),
        "partitioned_seconds": round(runs[(4, True)].seconds, 2),
        "ratio": round(ratio[(1, False)], 3),
        "ratio_with_derived": round(ratio[(1, True)], 3),
        "ratio_partitioned_customers_only": round(ratio[(4, False)], 3),
        "ratio_partitioned": round(ratio[(4, True)], 3),
        "requests": {
            "sdk": sdk.server_requests,
            "customers_only": runs[(1, False)].server_requests,
            "with_derived": runs[(1, True)].server_requests,
            "partitioned_customers_only": runs[(4, False)].server_requests,
            "partitioned": runs[(4, True)].server_requests,
        },
        "knobs": f"latency {STRIPE_REALISTIC.latency_ms:g} ms, no rate limit; partitioned = 4 workers",
        "target": "ratio <= 1.1 (customers only, like for like), partitioned (with derived fields) < 1.0",
        "met": ratio[(1, False)] <= 1.1 and ratio[(4, True)] < 1.0,
        "note": "ratio_with_derived also reads subscriptions (expanded) and canceled ones: more than the SDK does; "
        "requests are the sandbox's own count (the connector's counter agreed)",
    }


def _counted(server: SandboxServer, call: Callable[[], tuple[int, float, int]]) -> Listing:
    before = server.knobs.requests
    seen, seconds, engine = call()
    return Listing(seen, seconds, engine, server.knobs.requests - before)


def _connector(server: SandboxServer, partitions: int, derived: bool) -> Callable[[], tuple[int, float, int]]:
    return lambda: asyncio.run(_connector_listing(server, partitions, derived))


async def _sdk_listing(server: SandboxServer) -> tuple[int, float, int]:
    client = stripe.StripeClient(
        server.sandbox.settings(server.base_url)["api_key"],
        base_addresses={"api": server.base_url},
        http_client=stripe.HTTPXClient(),
        max_network_retries=0,
    )
    start = time.perf_counter()
    first = await client.v1.customers.list_async({"limit": STRIPE_PAGE})
    seen = 0
    async for _customer in first.auto_paging_iter():
        seen += 1
    return seen, time.perf_counter() - start, 0


async def _connector_listing(server: SandboxServer, partitions: int, derived: bool) -> tuple[int, float, int]:
    settings = StripeSettings(
        **server.settings(),
        requests_per_second=100_000,
        partitions=partitions,
        max_concurrency=max(8, partitions),
        read_subscriptions=derived,
    )
    context = ConnectorContext("bench")
    connector = StripeConnector(settings, context)
    try:
        start = time.perf_counter()
        seen = 0
        async for page in connector.list(None):
            seen += len(page.records)
        return seen, time.perf_counter() - start, context.requests
    finally:
        await connector.aclose()
