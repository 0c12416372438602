"""B1-B4: each scenario drives the real connectors over loopback and returns plain numbers.

B1 and B2 share one pair of sandboxes per size (B2 is the run after B1);
B3 measures the engine's own CPU on the state B1 left; B4 lists customers
through the connector and through the raw stripe SDK in the same run.
"""

from __future__ import annotations

import asyncio
import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import stripe

from bench.bound import Phase, engine_model_bound, pages, physical_bound
from bench.harness import CONNECTION, Pair, SideKnobs
from bench.timeline import Timeline
from connectors.google_contacts.writes import BATCH_SIZE as GOOGLE_BATCH
from connectors.stripe import StripeConnector, StripeSettings
from connectors.stripe.pagination import PAGE_SIZE as STRIPE_PAGE
from connectors.stripe.sandbox import StripeSandbox
from engine.config.models import Action
from engine.connector import ConnectorContext
from engine.planner.model import SIDES, Side
from engine.planner.plan import plan
from engine.runner import Session, SideRead
from engine.sandbox import Knobs, SandboxServer

Result = dict[str, Any]

# Stripe test mode allows 25 requests/s; Google's People API 90 requests/minute per user and kind.
STRIPE_REALISTIC = SideKnobs(latency_ms=80, rate_per_second=25, client_rate_per_second=25)
GOOGLE_REALISTIC = SideKnobs(latency_ms=100, rate_per_second=1.5, client_rate_per_second=1.5)
UNLIMITED = SideKnobs(latency_ms=0, rate_per_second=0, client_rate_per_second=100_000)
CHANGES_PER_SIDE = 10
# B1 lists Stripe split by creation time once it is this large: the pages one after another are a chain of
# N/100 round trips, the split listing a few probes and then parts at once (B4); below it the probes cost more.
PARTITION_FROM = 5000
PARTITIONS = 4


def stripe_partitions(count: int) -> int:
    return PARTITIONS if count >= PARTITION_FROM else 1
# A conditional tag that compares with the run's clock: every link is checked again on every run.
RENEWAL_SOON = Action.model_validate(
    {"add_tag": "Renewal soon", "if": {"field": "renewal_date", "op": "within_next_days", "value": 14}}
)


def stripe_read(sandbox: StripeSandbox, count: int, knobs: SideKnobs, chain: int | None = None) -> Phase:
    """Stripe's full read: the events head, the customer pages (current subscriptions expanded on them),
    the canceled subscriptions (listed alongside) and the product catalogue.

    `chain`: the dependent requests; by default the pages one after another, as the engine model counts
    them. Physically the listing can be split by creation time, so two requests (a head, then the parts
    at once) are the chain."""
    canceled = sum(1 for s in sandbox.store.of_kind("subscription") if s["status"] == "canceled")
    customer_pages, canceled_pages = pages(count, STRIPE_PAGE), pages(canceled, STRIPE_PAGE)
    requests = 1 + customer_pages + canceled_pages + 1
    sequential = max(customer_pages, canceled_pages) if chain is None else chain
    return Phase(requests, sequential, knobs.latency_ms / 1000, knobs.rate_per_second)


def b1_bounds(pair: Pair, count: int) -> tuple[float, float]:
    """The physical bound and the engine-model bound of B1: Stripe's read, Google's token and empty
    listing, Google's batches of creates (independent of each other)."""
    g = pair.google_knobs
    google_read = Phase(2, 2, g.latency_ms / 1000, g.rate_per_second)  # token refresh, then the one page
    batches = pages(count, GOOGLE_BATCH)
    physical = physical_bound(
        stripe_read(pair.stripe, count, pair.stripe_knobs, chain=2),
        google_read,
        Phase(batches, 1, g.latency_ms / 1000, g.rate_per_second),
    )
    model = engine_model_bound(
        [stripe_read(pair.stripe, count, pair.stripe_knobs), google_read],
        [Phase(batches, batches, g.latency_ms / 1000, g.rate_per_second)],
    )
    return physical, model


def served(pair: Pair, call: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
    """Run `call` and count the requests each sandbox answered meanwhile (its own counter, server side)."""
    before = pair.requests()
    value = call()
    after = pair.requests()
    return value, {"left": after["stripe"] - before["stripe"], "right": after["google"] - before["google"]}


def require_same_counts(name: str, engine: dict[str, int], server: dict[str, int]) -> None:
    """The engine's request counter and the sandboxes' must agree, or every request figure is suspect."""
    _require(engine == server, name, f"the engine counted {engine} requests, the sandboxes answered {server}")


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def b1_b2_b3(folder: Path, count: int, state_only: bool = False, state_url: str | None = None) -> list[Result]:
    """Initial sync of `count` Stripe customers into an empty Google Contacts, the incremental run after it,
    then the engine's own cost on the state they leave.

    `state_only`: B1 only builds the state B3 measures, with both sandboxes at zero latency and no rate
    limit (B1's and B2's figures are then meaningless and the caller drops them): B3 at 100,000 in minutes."""
    stripe, google = (UNLIMITED, UNLIMITED) if state_only else (STRIPE_REALISTIC, GOOGLE_REALISTIC)
    partitions = stripe_partitions(count)
    with Pair(folder, stripe, google, state_url=state_url, retry_wait_s=5.0, timeout_s=60.0,
              partitions=partitions) as pair:
        pair.stripe.seed(count)
        loaded = pair.load()
        store = pair.store(loaded)
        bound, model = b1_bounds(pair, count)
        timeline = Timeline()
        (report, seconds), server = served(
            pair, lambda: _timed(lambda: pair.run(loaded, store, phases=timeline, progress=timeline.progress))
        )
        summary = report.summary()
        _require(summary["status"] == "ok" and summary["created"]["right"] == count, "B1", summary)
        require_same_counts("B1", summary["requests"], server)
        b1 = {
            "id": "B1",
            "name": "initial sync Stripe -> Google Contacts",
            "size": count,
            "seconds": round(seconds, 2),
            "records_per_second": round(count / seconds, 1),
            "bound_seconds": round(bound, 2),
            "ratio_to_bound": round(seconds / bound, 3) if bound else None,  # None: no latency, no bound
            "ratio_to_engine_model": round(seconds / model, 3) if model else None,
            "requests": summary["requests"],
            "server_requests": server,
            "stripe_partitions": partitions,
            "streamed_creates": report.streamed["right"],
            "phases": timeline.figures(seconds),
            "target": "ratio <= 1.10 of the physical bound",
            "met": bool(bound) and seconds / bound <= 1.10,
        }
        b2 = _incremental(pair, loaded, store, count)
        b3 = _engine_overhead(pair, store, count)
    return [b1, b2, b3]


def _incremental(pair: Pair, loaded: Any, store: Any, count: int) -> Result:
    rng = random.Random(count)
    links = store.links(CONNECTION)
    chosen = rng.sample(links, 2 * CHANGES_PER_SIDE)
    for number, link in enumerate(chosen[:CHANGES_PER_SIDE]):
        pair.stripe.update_record(link.left_id, {"phone": f"+1555010{number:04d}"})
    for number, link in enumerate(chosen[CHANGES_PER_SIDE:]):
        pair.google.update_record(link.right_id, {"givenName": f"Changed{number}"})
    (report, seconds), server = served(pair, lambda: _timed(lambda: pair.run(loaded, store)))
    summary = report.summary()
    expected = {"left": CHANGES_PER_SIDE, "right": CHANGES_PER_SIDE}
    _require(summary["status"] == "ok" and summary["updated"] == expected, "B2", summary)
    requests = summary["requests"]
    require_same_counts("B2", requests, server)
    return {
        "id": "B2",
        "name": f"incremental run after {CHANGES_PER_SIDE} changes per side",
        "size": count,
        "seconds": round(seconds, 2),
        "requests": requests,
        "server_requests": server,
        "requests_per_changed_record": round(sum(requests.values()) / (2 * CHANGES_PER_SIDE), 2),
        "deterministic": True,  # request counts do not depend on the machine: the smoke run enforces them
        "target": "<= 30 requests per side, same within 20% across sizes",
        "met": max(requests.values()) <= 30,
    }


def _engine_overhead(pair: Pair, store: Any, count: int) -> Result:
    """CPU of this thread (the sandboxes run in others) for the state, mapping and planning of a full re-read."""
    for server in pair.servers.values():
        server.knobs.latency_ms, server.knobs.rate_limit = 0.0, 0.0
    pair.stripe_knobs = pair.google_knobs = UNLIMITED
    fast = pair.load()
    session = Session(fast, fast.config.connection(CONNECTION), store)
    reads = asyncio.run(_read_both(session))
    records = {side: list(reads[side].changes.values()) for side in SIDES}
    mapper = session.prepared.mapper
    state_cpu = _cpu(lambda: _state_round_trip(store, session, records))
    mapping_cpu = _cpu(lambda: [mapper.project(side, r) for side in SIDES for r in records[side]])
    inputs = session.plan_input(reads, force=False)
    planning_cpu = _cpu(lambda: plan(inputs))
    initial = replace(inputs, links=[], index={"left": {}, "right": {}}, pending={})
    initial_cpu = _cpu(lambda: plan(initial))
    peak = _peak_bytes(lambda: plan(session.plan_input(reads, force=False)))
    quiet = replace(inputs, changes={"left": {}, "right": {}}, complete={"left": False, "right": False})
    quiet_cpu = _cpu(lambda: plan(quiet))
    clocked_cpu = _cpu(lambda: plan(replace(quiet, conditional={"right": [RENEWAL_SOON]})))
    per = 1e6 / count
    total = (state_cpu + planning_cpu) * per
    return {
        "id": "B3",
        "name": "engine CPU per linked record (full re-read, nothing to write)",
        "size": count,
        "linked": len(inputs.links),
        "state_us": round(state_cpu * per, 1),
        "mapping_us": round(mapping_cpu * per, 1),
        "planning_us": round(planning_cpu * per, 1),
        "planning_initial_us": round(initial_cpu * per, 1),
        "total_us": round(total, 1),
        "clock_recheck_us": round((clocked_cpu - quiet_cpu) * per, 1),
        "peak_mb": round(peak / 2**20, 1),
        "state": store.engine.dialect.name,
        "target": "<= 100 us per record, <= 150 MB (at 100,000)",
        "met": total <= 100 and peak <= 150 * 2**20,
        "note": "planning includes mapping (the planner projects every record); clock_recheck_us: what a "
        "run with no changes pays per link to check a relative-date THEN action from the stored index",
    }


async def _read_both(session: Session) -> dict[Side, SideRead]:
    try:
        return {side: await session.read(side, True) for side in SIDES}
    finally:
        await session.aclose()


def _state_round_trip(store: Any, session: Session, records: dict[Side, list[Any]]) -> None:
    """What a run does with the state per record: load the index and links, save them back."""
    links = store.links(CONNECTION)
    for side in SIDES:
        store.seen(CONNECTION, side)
        store.remember(CONNECTION, side, records[side], session.connection.match.left or "email")
    store.save_links(CONNECTION, links)


def _cpu(call: Callable[[], Any]) -> float:
    start = time.thread_time()
    call()
    return time.thread_time() - start


def _peak_bytes(call: Callable[[], Any]) -> int:
    """Peak Python allocation while loading the state and planning (tracemalloc, this process)."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def b4_listing(count: int) -> Result:
    """The connector's full listing against the raw SDK's auto-pagination over the same sandbox.

    Like for like is the connector reading customers only (`read_subscriptions: false`); with the
    derived fields it also expands subscriptions on each page and lists canceled ones alongside.
    """
    sandbox = StripeSandbox()
    sandbox.seed(count)
    knobs = Knobs(latency_ms=STRIPE_REALISTIC.latency_ms)
    with SandboxServer(sandbox, knobs=knobs) as server:
        sdk = asyncio.run(_sdk_listing(server))
        runs = {(p, derived): asyncio.run(_connector_listing(server, p, derived))
                for p in (1, 4) for derived in (False, True)}
    _require(sdk[0] == count and all(c[0] == count for c in runs.values()), "B4", {"sdk": sdk, **runs})
    ratio = {key: seconds / sdk[1] for key, (_, seconds) in runs.items()}
    return {
        "id": "B4",
        "name": "listing customers: connector vs raw stripe SDK auto-pagination",
        "size": count,
        "sdk_seconds": round(sdk[1], 2),
        "customers_only_seconds": round(runs[(1, False)][1], 2),
        "with_derived_seconds": round(runs[(1, True)][1], 2),
        "partitioned_seconds": round(runs[(4, True)][1], 2),
        "ratio": round(ratio[(1, False)], 3),
        "ratio_with_derived": round(ratio[(1, True)], 3),
        "ratio_partitioned_customers_only": round(ratio[(4, False)], 3),
        "ratio_partitioned": round(ratio[(4, True)], 3),
        "knobs": f"latency {STRIPE_REALISTIC.latency_ms:g} ms, no rate limit; partitioned = 4 workers",
        "target": "ratio <= 1.1 (customers only, like for like), partitioned (with derived fields) < 1.0",
        "met": ratio[(1, False)] <= 1.1 and ratio[(4, True)] < 1.0,
        "note": "ratio_with_derived also reads subscriptions (expanded) and canceled ones: more than the SDK does",
    }


async def _sdk_listing(server: SandboxServer) -> tuple[int, float]:
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
    return seen, time.perf_counter() - start


async def _connector_listing(server: SandboxServer, partitions: int, derived: bool) -> tuple[int, float]:
    settings = StripeSettings(
        **server.settings(), requests_per_second=100_000, partitions=partitions,
        max_concurrency=max(8, partitions), read_subscriptions=derived,
    )
    connector = StripeConnector(settings, ConnectorContext("bench"))
    try:
        start = time.perf_counter()
        seen = 0
        async for page in connector.list(None):
            seen += len(page.records)
        return seen, time.perf_counter() - start
    finally:
        await connector.aclose()


class BenchFailure(RuntimeError):
    """A benchmark run that did not do its work (so its timing means nothing)."""


def _require(condition: bool, name: str, detail: Any) -> None:
    if not condition:
        raise BenchFailure(f"{name} did not complete as expected: {detail}")
