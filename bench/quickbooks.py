"""B1 into QuickBooks: Stripe customers into an empty QuickBooks company, through both sandboxes.

QuickBooks takes creates in batches of 30 and allows 40 batch requests per
minute per company (500 requests per minute in all). Its limit is a window
of a minute, so the first 40 batches may go at once; the bound counts the
rest at 40 a minute. That rate, not the engine, sets the time: 10,000
records are 334 batches, over seven minutes whatever the engine does, so the
default size here is smaller (`--quickbooks-size`), and the ratio is what
to compare.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.bound import Phase, engine_model_bound, pages, physical_bound
from bench.harness import SideKnobs
from bench.timeline import Timeline
from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.config import load_config
from engine.runner import run_connection
from engine.sandbox import Knobs, SandboxServer
from engine.state.store import StateStore

CONNECTION = "stripe-quickbooks"
QUIET_LIMIT = 30  # requests per side of a run after a run, whatever the size
CHANGES = 10
QUICKBOOKS_BATCH = 30
BATCHES_PER_MINUTE = 40.0
BATCH_BURST = 40  # a per-minute window lets a full minute's batches through at once
QUICKBOOKS_REALISTIC = SideKnobs(latency_ms=150, rate_per_second=500 / 60, client_rate_per_second=500 / 60)


def bounds(stripe_read: Any, stripe: StripeSandbox, count: int, stripe_knobs: SideKnobs) -> tuple[float, float]:
    """The physical bound (Stripe's listing split, batches independent, phases overlapping) and the
    engine-model bound of the initial sync into QuickBooks."""
    knobs = QUICKBOOKS_REALISTIC
    latency = knobs.latency_ms / 1000
    batches = pages(count, 30)
    physical = physical_bound(
        stripe_read(stripe, count, stripe_knobs, chain=2),
        Phase(2, 2, latency, knobs.rate_per_second),
        Phase(max(batches - BATCH_BURST, 0), 1, latency, BATCHES_PER_MINUTE / 60),
    )
    return physical, bound(stripe_read(stripe, count, stripe_knobs), count, knobs)


def bound(stripe_read: Phase, count: int, knobs: SideKnobs) -> float:
    """Slowest read (Stripe's; QuickBooks needs a token and one query) plus the batches beyond the burst."""
    latency = knobs.latency_ms / 1000
    batches = pages(count, QUICKBOOKS_BATCH)
    reads = [stripe_read, Phase(2, 2, latency, knobs.rate_per_second)]
    writes = [Phase(max(batches - BATCH_BURST, 0), 1, latency, BATCHES_PER_MINUTE / 60)]
    return engine_model_bound(reads, writes)


def config(stripe: SandboxServer, books: SandboxServer, stripe_knobs: SideKnobs, partitions: int = 1) -> dict[str, Any]:
    qb = books.settings()
    return {
        "accounts": {
            "stripe": {"connector": "stripe", "settings": {
                "base_url": stripe.base_url, "api_key": "${BENCH_STRIPE_KEY}",
                "requests_per_second": stripe_knobs.client_rate_per_second, "timeout_seconds": 60.0,
                "partitions": partitions}},
            "books": {"connector": "quickbooks", "settings": {
                "base_url": qb["base_url"], "token_url": qb["token_url"], "client_id": qb["client_id"],
                "client_secret": "${BENCH_QB_SECRET}", "refresh_token": "${BENCH_QB_REFRESH}",
                "realm_id": qb["realm_id"], "requests_per_minute": QUICKBOOKS_REALISTIC.client_rate_per_second * 60,
                "batch_requests_per_minute": BATCHES_PER_MINUTE, "retry_max_wait": 5.0, "timeout_seconds": 60.0}},
        },
        "connections": [{"name": CONNECTION, "left": "stripe", "right": "books", "direction": "left-to-right"}],
    }


def distinct_names(stripe: StripeSandbox) -> None:
    """The seed draws from 100 names; QuickBooks wants each DisplayName unique, and every clash costs its
    connector a query and a resend. A company's customers mostly have distinct names, so give them that."""
    with stripe.store.lock:
        for number, customer in enumerate(stripe.store.of_kind("customer")):
            customer["name"] = f"{customer['name']}-{number}"


def run_b1(
    folder: Path, count: int, stripe_knobs: SideKnobs, stripe_read: Any, partitions: int = 1, quiet: bool = False
) -> list[dict[str, Any]]:
    """Times the initial sync; `stripe_read(sandbox, count, knobs)` gives Stripe's read phase for the bound.

    `quiet`: then B2 into QuickBooks (the runs after runs that wrote into it)."""
    stripe, books = StripeSandbox(), QuickBooksSandbox()
    stripe.seed(count)
    distinct_names(stripe)
    stripe_server = SandboxServer(stripe, knobs=Knobs(latency_ms=stripe_knobs.latency_ms,
                                                     rate_limit=stripe_knobs.rate_per_second))
    qb_knobs = Knobs(latency_ms=QUICKBOOKS_REALISTIC.latency_ms, rate_limit=QUICKBOOKS_REALISTIC.rate_per_second)
    with stripe_server, SandboxServer(books, knobs=qb_knobs) as books_server:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "pairsync.yaml"
        path.write_text(yaml.safe_dump(config(stripe_server, books_server, stripe_knobs, partitions), sort_keys=False))
        secrets = {"BENCH_STRIPE_KEY": stripe.api_key, "BENCH_QB_SECRET": books.client_secret,
                   "BENCH_QB_REFRESH": books.initial_refresh_token}
        loaded = load_config(path, environ={**os.environ, **secrets})
        store = StateStore(loaded.state_url)
        limit, model = bounds(stripe_read, stripe, count, stripe_knobs)
        served_before = {"left": stripe_server.knobs.requests, "right": books_server.knobs.requests}
        timeline = Timeline()
        start = time.perf_counter()
        report = asyncio.run(run_connection(
            loaded, loaded.config.connection(CONNECTION), store, phases=timeline, progress=timeline.progress
        ))
        seconds = time.perf_counter() - start
        server = {
            "left": stripe_server.knobs.requests - served_before["left"],
            "right": books_server.knobs.requests - served_before["right"],
        }
        servers = {"left": stripe_server, "right": books_server}
        after = b2_after_writes(Runner(loaded, store, servers), stripe, count) if quiet else []
    summary = report.summary()
    done = summary["status"] == "ok" and summary["created"]["right"] == count
    return [{
        "id": "B1",
        "name": "initial sync Stripe -> QuickBooks",
        "size": count,
        "completed": done,
        "seconds": round(seconds, 2),
        "records_per_second": round(count / seconds, 1),
        "bound_seconds": round(limit, 2),
        "ratio_to_bound": round(seconds / limit, 3),
        "ratio_to_engine_model": round(seconds / model, 3),
        "requests": summary["requests"],
        "server_requests": server,
        "stripe_partitions": partitions,
        "streamed_creates": report.streamed["right"],
        "phases": timeline.figures(seconds),
        "target": "ratio <= 1.10 of the physical bound",
        "met": done and seconds / limit <= 1.10 and summary["requests"] == server,
    }, *after]


@dataclass
class Runner:
    """Runs the connection again and counts requests on both sides: the engine's and each sandbox's."""

    loaded: Any
    store: StateStore
    servers: dict[str, SandboxServer]

    def run(self, name: str, count: int, updated: int) -> dict[str, Any]:
        before = {side: server.knobs.requests for side, server in self.servers.items()}
        start = time.perf_counter()
        report = asyncio.run(run_connection(self.loaded, self.loaded.config.connection(CONNECTION), self.store))
        seconds = time.perf_counter() - start
        server = {side: s.knobs.requests - before[side] for side, s in self.servers.items()}
        summary = report.summary()
        written = {k: summary[k] for k in ("created", "updated", "tagged", "untagged")}
        wanted = {k: {"left": 0, "right": updated if k == "updated" else 0} for k in written}
        if summary["status"] != "ok" or written != wanted or summary["requests"] != server:
            raise RuntimeError(f"B2 {name} into QuickBooks did not complete as expected: {summary}, server {server}")
        requests = summary["requests"]
        return {
            "id": "B2",
            "name": f"{name} (Stripe -> QuickBooks)",
            "size": count,
            "seconds": round(seconds, 2),
            "requests": requests,
            "server_requests": server,
            "requests_per_changed_record": round(sum(requests.values()) / updated, 2) if updated else None,
            "deterministic": True,
            "target": f"<= {QUIET_LIMIT} requests per side, same within 20% across sizes",
            "met": max(requests.values()) <= QUIET_LIMIT,
        }


def b2_after_writes(runner: Runner, stripe: StripeSandbox, count: int) -> list[dict[str, Any]]:
    """The run after B1's creates into QuickBooks, then Stripe changes written into QuickBooks and the
    run after that: none may read pairsync's own writes back one by one."""
    results = [runner.run(f"quiet run after {count} creates into QuickBooks", count, 0)]
    customers = [c for c in stripe.store.of_kind("customer") if not c.get("deleted")]
    for number, customer in enumerate(customers[:CHANGES]):
        stripe.update_record(customer["id"], {"phone": f"+1555020{number:04d}"})
    results.append(runner.run(f"incremental run after {CHANGES} Stripe changes", count, CHANGES))
    results.append(runner.run("quiet run after updates into QuickBooks", count, 0))
    return results
