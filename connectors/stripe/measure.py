"""Measure the partitioned full listing against the sequential one, on the sandbox with latency.

Run: `.venv/bin/python -m connectors.stripe.measure [customers] [latency_ms]`; prints seconds,
requests and the speed-up ratio. A measurement, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import asyncio
import sys
import time

from engine.connector import ConnectorContext
from engine.sandbox import Knobs, SandboxServer

from .connector import StripeConnector
from .sandbox import StripeSandbox
from .settings import StripeSettings


async def _list(settings: StripeSettings) -> tuple[int, int, float]:
    context = ConnectorContext("measure")
    connector = StripeConnector(settings, context)
    started = time.perf_counter()
    count = 0
    try:
        async for page in connector.list():
            count += len(page.records)
    finally:
        await connector.aclose()
    return count, context.requests, time.perf_counter() - started


def main(customers: int = 2000, latency_ms: float = 30.0) -> None:
    sandbox = StripeSandbox(seed=customers, rng_seed=11)
    with SandboxServer(sandbox, knobs=Knobs(latency_ms=latency_ms)) as server:
        base = StripeSettings(**server.settings(), requests_per_second=100.0)
        results = {}
        for partitions in (1, 2, 4, 8):
            settings = base.model_copy(update={"partitions": partitions})
            count, requests, seconds = asyncio.run(_list(settings))
            results[partitions] = seconds
            print(f"partitions={partitions}: {count} customers, {requests} requests, {seconds:.2f} s, "
                  f"speed-up x{results[1] / seconds:.2f}")


if __name__ == "__main__":
    main(*(float(arg) if i else int(arg) for i, arg in enumerate(sys.argv[1:])))  # type: ignore[arg-type]
