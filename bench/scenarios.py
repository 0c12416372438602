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

from bench.bound import Phase, engine_model_bound, pages, physical_bound
from bench.harness import CONNECTION, Pair, SideKnobs
from bench.stripe_reads import b2_stripe_reads
from bench.timeline import Timeline
from connectors.google_contacts.writes import BATCH_SIZE as GOOGLE_BATCH
from connectors.stripe.pagination import PAGE_SIZE as STRIPE_PAGE
from connectors.stripe.sandbox import StripeSandbox
from engine import names, transforms
from engine.config.models import Action
from engine.planner.model import SIDES, Side
from engine.planner.plan import plan
from engine.runner import Session, SideRead

Result = dict[str, Any]

# Stripe test mode allows 25 requests/s; Google's People API 90 requests/minute per user and kind.
STRIPE_REALISTIC = SideKnobs(latency_ms=80, rate_per_second=25, client_rate_per_second=25)
GOOGLE_REALISTIC = SideKnobs(latency_ms=100, rate_per_second=1.5, client_rate_per_second=1.5)
UNLIMITED = SideKnobs(latency_ms=0, rate_per_second=0, client_rate_per_second=100_000)
CHANGES_PER_SIDE = 10
QUIET_LIMIT = 30  # requests per side of an incremental or quiet run, whatever the size
CREATES_INTO_STRIPE = 1000  # customers pairsync creates in Stripe before a quiet run (B2)
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


def b1_b2_b3(
    folder: Path, count: int, state_only: bool = False, state_url: str | None = None,
    creates: int = CREATES_INTO_STRIPE,
) -> list[Result]:
    """Initial sync of `count` Stripe customers into an empty Google Contacts, the incremental run after it,
    then the engine's own cost on the state they leave, then the runs after writes (B2, at zero latency:
    their request counts are the figures).

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
        quiet = [] if state_only else b2_write_then_quiet(pair, pair.load(), store, count, creates)
        reads = [] if state_only else b2_stripe_reads(pair.servers["stripe"], count)
    return [b1, b2, b3, *quiet, *reads]


def _incremental(pair: Pair, loaded: Any, store: Any, count: int) -> Result:
    rng = random.Random(count)
    links = store.links(CONNECTION)
    chosen = rng.sample(links, 2 * CHANGES_PER_SIDE)
    for number, link in enumerate(chosen[:CHANGES_PER_SIDE]):
        pair.stripe.update_record(link.left_id, {"phone": f"+1555010{number:04d}"})
    for number, link in enumerate(chosen[CHANGES_PER_SIDE:]):
        pair.google.update_record(link.right_id, {"givenName": f"Changed{number}"})
    expected = {"left": CHANGES_PER_SIDE, "right": CHANGES_PER_SIDE}
    name = f"incremental run after {CHANGES_PER_SIDE} changes per side"
    return measured_run(pair, loaded, store, count, name, expected)


def b2_write_then_quiet(pair: Pair, loaded: Any, store: Any, count: int, creates: int) -> list[Result]:
    """The runs after a run that wrote into both apps must not read those writes back one by one:
    a quiet run after the incremental one (it updated both sides), then `creates` new Google contacts
    synced into Stripe as new customers (informational), then a quiet run again."""
    results = [measured_run(pair, loaded, store, count, "quiet run after a run that wrote into both apps", {})]
    stamp = f"{count}-{creates}"
    for number in range(creates):
        pair.google.add_record({"givenName": f"New{number}", "familyName": "Contact",
                                "email": f"new-{stamp}-{number}@example.com"})
    made = f"run creating {creates} Stripe customers"
    results.append(measured_run(pair, loaded, store, count, made, {"left": creates}, kind="created", limit=None))
    results.append(measured_run(pair, loaded, store, count, f"quiet run after {creates} creates into Stripe", {}))
    return results


def measured_run(
    pair: Pair, loaded: Any, store: Any, count: int, name: str, expected: dict[str, int],
    kind: str = "updated", limit: int | None = QUIET_LIMIT,
) -> Result:
    """One run of the connection, timed, its requests counted by the engine and by each sandbox.

    `expected`: the records the run must have `kind` (created or updated) per side, none elsewhere (empty:
    a quiet run, nothing written at all); `limit`: the most requests a side may make (None: informational)."""
    (report, seconds), server = served(pair, lambda: _timed(lambda: pair.run(loaded, store)))
    summary = report.summary()
    wanted = {k: {"left": 0, "right": 0} for k in ("created", "updated", "tagged", "untagged")}
    wanted[kind] = {"left": expected.get("left", 0), "right": expected.get("right", 0)}
    _require(summary["status"] == "ok" and all(summary[k] == v for k, v in wanted.items()), f"B2 {name}", summary)
    requests = summary["requests"]
    require_same_counts(f"B2 {name}", requests, server)
    changed = sum(expected.values())
    return {
        "id": "B2",
        "name": name,
        "size": count,
        "seconds": round(seconds, 2),
        "requests": requests,
        "server_requests": server,
        "requests_per_changed_record": round(sum(requests.values()) / changed, 2) if changed else None,
        "deterministic": limit is not None,  # request counts do not depend on the machine: smoke enforces them
        "target": f"<= {limit} requests per side, same within 20% across sizes" if limit else "informational",
        "met": limit is None or max(requests.values()) <= limit,
    }


def _engine_overhead(pair: Pair, store: Any, count: int) -> Result:
    """CPU of this thread (the sandboxes run in others) for the state, mapping and planning of a full re-read."""
    for server in pair.servers.values():
        server.knobs.latency_ms, server.knobs.rate_limit = 0.0, 0.0
    pair.stripe_knobs = pair.google_knobs = UNLIMITED
    fast = pair.load()
    session = Session(fast, fast.config.connection(CONNECTION), store)
    return b3_figures(session, store, asyncio.run(_read_both(session)), count)


def b3_figures(session: Session, store: Any, reads: dict[Side, SideRead], count: int) -> Result:
    """B3's figures for a full re-read `reads` of the linked state in `store` (nothing to write)."""
    records = {side: list(reads[side].changes.values()) for side in SIDES}
    mapper = session.prepared.mapper
    state_cpu = _cpu(lambda: _state_round_trip(store, session, records))
    _clear_transform_caches()  # as in a fresh process (every CLI run): nothing parsed yet
    mapping_cold_cpu = _cpu(lambda: _project_all(mapper, records))
    mapping_cpu = _cpu(lambda: _project_all(mapper, records))
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
        "mapping_cold_us": round(mapping_cold_cpu * per, 1),
        "planning_us": round(planning_cpu * per, 1),
        "planning_initial_us": round(initial_cpu * per, 1),
        "total_us": round(total, 1),
        "clock_recheck_us": round((clocked_cpu - quiet_cpu) * per, 1),
        "peak_mb": round(peak / 2**20, 1),
        "state": store.engine.dialect.name,
        "target": "<= 100 us per record, <= 150 MB (at 100,000)",
        "met": total <= 100 and peak <= 150 * 2**20,
        "note": "planning includes mapping (the planner projects every record); mapping_cold_us: the same "
        "projection with the transforms' caches empty, as in a fresh process; clock_recheck_us: what a "
        "run with no changes pays per link to check a relative-date THEN action from the stored index",
    }


async def _read_both(session: Session) -> dict[Side, SideRead]:
    try:
        return {side: await session.read(side, True) for side in SIDES}
    finally:
        await session.aclose()


def _state_round_trip(store: Any, session: Session, records: dict[Side, list[Any]]) -> None:
    """What a run does with the state per record: load the index (less what it read) and links, save them back."""
    links = store.links(CONNECTION)
    for side in SIDES:
        store.seen(CONNECTION, side, skip={r.id for r in records[side]})
        store.remember(CONNECTION, side, records[side], session.connection.match.left or "email")
    store.save_links(CONNECTION, links)


def _project_all(mapper: Any, records: dict[Side, list[Any]]) -> None:
    """Every record's projection, each dropped at once as the planner does: a list holding all of them
    would outlive the collector's young generations and make it rescan every live object repeatedly
    (at 100,000 records that tripled the figure)."""
    for side in SIDES:
        for record in records[side]:
            mapper.project(side, record)


def _clear_transform_caches() -> None:
    """Empty the caches of the costly normalisations (email, phone, name split), as a new process has them."""
    for cached in (transforms._email, transforms._phone_e164, names.split_name):
        cached.cache_clear()


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


class BenchFailure(RuntimeError):
    """A benchmark run that did not do its work (so its timing means nothing)."""


def _require(condition: bool, name: str, detail: Any) -> None:
    if not condition:
        raise BenchFailure(f"{name} did not complete as expected: {detail}")
