"""`python -m bench.mailchimp [--size N] [--latency-ms L]`: the Mailchimp connector against its sandbox.

M1 full listing: pages of 1,000 one after another (offset paging is a chain), so the bound is
pages x latency. M2 updates: N sparse updates as PATCHes, at most 10 in flight (Mailchimp's
connection limit), so the bound is ceil(N / 10) x latency. M3 the same updates as one `/batches`
job: the bound is 3 requests (submit, the polls the sandbox needs, the archive) x latency; the
sandbox runs the operations in-process, so M3 shows the requests saved, not Mailchimp's own queue
time. M4 the quiet run after a run that created N members into an empty audience: its incremental
read, whose bound is the two requests of an empty feed (changed, archived) x latency; `check_requests`
and `check_seconds` what the creating run spent after its writes to move the cursor past them
(connectors/mailchimp/follow.py).
Each result is a ratio to its bound; nothing here is a timed assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from bench.bound import Phase, pages
from connectors.mailchimp import MailchimpConnector, MailchimpSettings
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.connector import ConnectorContext
from engine.records import WriteRequest
from engine.sandbox import Knobs, SandboxServer
from engine.testing.contract import collect


def measure(size: int, latency_ms: float) -> list[dict[str, Any]]:
    sandbox = MailchimpSandbox(seed=size, rng_seed=7)
    latency = latency_ms / 1000
    results: list[dict[str, Any]] = []
    with SandboxServer(sandbox, knobs=Knobs(latency_ms=latency_ms)) as server:
        settings = {**server.settings(), "batch_operations_from": 0}

        def connector(**overrides: Any) -> tuple[MailchimpConnector, ConnectorContext]:
            context = ConnectorContext("bench")
            return MailchimpConnector(MailchimpSettings(**{**settings, **overrides}), context), context

        def timed(name: str, bound: float, body: Any, **overrides: Any) -> None:
            client, context = connector(**overrides)

            async def run() -> None:
                try:
                    await body(client)
                finally:
                    await client.aclose()

            began = time.perf_counter()
            asyncio.run(run())
            seconds = time.perf_counter() - began
            results.append({"id": name, "size": size, "seconds": round(seconds, 2), "bound": round(bound, 2),
                            "ratio": round(seconds / bound, 2), "requests": context.requests})

        async def read(client: MailchimpConnector) -> None:
            records, _, full = await collect(client)
            assert full and len(records) == size

        ids = [r["id"] for r in sandbox.records()]

        def updates(tag: str) -> list[WriteRequest]:
            return [WriteRequest(uuid.uuid4().hex, i, {"merge_fields.STAGE": tag}) for i in ids]

        async def patch(client: MailchimpConnector) -> None:
            assert all(r.ok for r in await client.upsert(updates("patched")))

        async def batch(client: MailchimpConnector) -> None:
            assert all(r.ok for r in await client.upsert(updates("batched")))

        timed("M1 full listing", Phase(pages(size, 1000), pages(size, 1000), latency, 0).seconds(), read)
        timed("M2 updates (PATCH, 10 in flight)", Phase(size, -(-size // 10), latency, 0).seconds(), patch)
        polls = 4  # the sandbox moves a batch one step per GET
        timed("M3 updates (/batches)", Phase(2 + polls, 2 + polls, latency, 0).seconds(), batch,
              batch_operations_from=1)
    results.append(quiet_after_creates(size, latency_ms))
    return results


def quiet_after_creates(size: int, latency_ms: float) -> dict[str, Any]:
    """M4: read an empty audience, create `size` members (calls of 500, 10 at a time, as the engine sends
    them), save the cursor the connector gives after its writes, then time the next run's incremental read."""
    with SandboxServer(MailchimpSandbox(), knobs=Knobs(latency_ms=latency_ms)) as server:
        settings = MailchimpSettings(**server.settings())

        async def creating_run() -> tuple[Any, int, float]:
            context = ConnectorContext("bench")
            client = MailchimpConnector(settings, context)
            try:
                cursor = (await collect(client))[1]
                gate = asyncio.Semaphore(settings.max_connections)

                async def call(first: int) -> None:
                    requests = [WriteRequest(uuid.uuid4().hex, None, {"email": f"m{n}@example.com", "FNAME": "M"})
                                for n in range(first, min(first + 500, size))]
                    async with gate:
                        assert all(r.ok for r in await client.upsert(requests))

                await asyncio.gather(*(call(first) for first in range(0, size, 500)))
                before, began = context.requests, time.perf_counter()
                later = await client.cursor_after_writes(cursor)
                return later, context.requests - before, time.perf_counter() - began
            finally:
                await client.aclose()

        async def next_run(cursor: Any) -> int:
            context = ConnectorContext("bench")
            client = MailchimpConnector(settings, context)
            try:
                await collect(client, cursor)
            finally:
                await client.aclose()
            return context.requests

        cursor, check, check_seconds = asyncio.run(creating_run())
        began = time.perf_counter()
        requests = asyncio.run(next_run(cursor))
        seconds = time.perf_counter() - began
    bound = 2 * latency_ms / 1000
    return {"id": "M4 quiet run after creates", "size": size, "seconds": round(seconds, 2), "bound": round(bound, 2),
            "ratio": round(seconds / bound, 2), "requests": requests, "check_requests": check,
            "check_seconds": round(check_seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mailchimp", description=__doc__)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    print(json.dumps({"latency_ms": args.latency_ms, "results": measure(args.size, args.latency_ms)}, indent=2))


if __name__ == "__main__":
    main()
