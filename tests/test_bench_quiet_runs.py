"""The run after a run that wrote into an app does not read those writes back one by one (issue 17, B2).

End to end through the engine on the sandboxes at zero latency; request
counts are deterministic, so they are asserted exactly (never timings).
"""

from __future__ import annotations

from pathlib import Path

from bench import quickbooks, report
from bench.bound import Phase
from bench.harness import Pair, SideKnobs
from bench.scenarios import b2_write_then_quiet, measured_run

CUSTOMERS = 40
CREATES = 250
EDITS = 8
INSTANT = SideKnobs()


def test_a_quiet_run_after_creates_into_stripe_costs_the_event_pages(tmp_path: Path) -> None:
    """250 customers created in Stripe by pairsync: the next run reads 3 event pages and plans nothing
    (each record the events give back equals the one remembered after its create)."""
    with Pair(tmp_path) as pair:
        pair.stripe.seed(CUSTOMERS)
        loaded = pair.load()
        store = pair.store(loaded)
        first = measured_run(pair, loaded, store, CUSTOMERS, "initial", {"right": CUSTOMERS}, kind="created",
                             limit=None)
        assert first["requests"]["right"] > 0
        quiet, made, after = b2_write_then_quiet(pair, loaded, store, CUSTOMERS, CREATES)
    assert quiet["requests"]["left"] == 1, "the run after B1's creates into Google: one event page"
    assert made["requests"]["left"] == 1 + CREATES, "the event page, then one create per customer"
    assert after["requests"]["left"] == 3, "250 customer.created events: 3 pages; nothing fetched"
    assert all(r["requests"]["right"] <= 30 for r in (quiet, after)), "Google: its sync token, not a page per write"
    assert after["met"] and quiet["met"]


def test_quiet_runs_after_writes_into_quickbooks_cost_a_token_and_a_change_feed(tmp_path: Path) -> None:
    b1, quiet, changed, after = quickbooks.run_b1(tmp_path, CUSTOMERS, INSTANT, _no_bound, quiet=True)
    assert b1["completed"]
    assert quiet["requests"] == {"left": 1, "right": 2}, "events page; token refresh and one CDC request"
    assert changed["requests"]["left"] == 1 + quickbooks.CHANGES + 1, "events, a listing each, the catalogue"
    assert after["requests"] == {"left": 1, "right": 2}, "pairsync's updates into QuickBooks are not re-read"
    assert all(r["met"] for r in (quiet, changed, after))


def test_a_quiet_run_after_updates_into_stripe_reads_one_event_page(tmp_path: Path) -> None:
    """Contacts edited in Google, written into Stripe as updates: the run after reads their events and
    recognises them as pairsync's own (their Idempotency-Key), so no customer's subscriptions are listed."""
    with Pair(tmp_path) as pair:
        pair.stripe.seed(CUSTOMERS)
        loaded = pair.load()
        store = pair.store(loaded)
        measured_run(pair, loaded, store, CUSTOMERS, "initial", {"right": CUSTOMERS}, kind="created", limit=None)
        for number, contact in enumerate(pair.google.records()[:EDITS]):
            pair.google.update_record(contact["id"], {"givenName": f"Edited{number}"})
        measured_run(pair, loaded, store, CUSTOMERS, "edits into Stripe", {"left": EDITS})
        quiet = measured_run(pair, loaded, store, CUSTOMERS, "quiet", {})
    assert quiet["requests"]["left"] == 1, "one event page: the updates were pairsync's own"


def _no_bound(*_args: object, **_kwargs: object) -> Phase:
    return Phase(1, 1, 0.0, 0.0)


def test_flatness_across_sizes_is_judged_run_by_run() -> None:
    """Each B2 run is compared with the same run at the other size, never with another kind of run."""
    runs = [
        {"id": "B2", "name": "quiet", "size": 10_000, "deterministic": True, "requests": {"left": 10, "right": 2}},
        {"id": "B2", "name": "quiet", "size": 100_000, "deterministic": True, "requests": {"left": 10, "right": 3}},
        {"id": "B2", "name": "busy", "size": 10_000, "deterministic": True, "requests": {"left": 20, "right": 20}},
        {"id": "B2", "name": "busy", "size": 100_000, "deterministic": True, "requests": {"left": 30, "right": 20}},
    ]
    quiet, busy = report.b2_consistency(runs)
    assert (quiet["request_totals"], quiet["met"]) == ([12, 13], True)
    assert (busy["request_totals"], busy["met"]) == ([40, 50], False)
