"""A missing optional permission degrades, never fails: the run does what it can and says what it could not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from bench.harness import Pair
from connectors.quickbooks.cdc import CDC_UNAVAILABLE
from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.stripe.events import EVENTS_UNAVAILABLE
from engine.config import load_config
from engine.runner import run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore
from tests.reliability.helpers import seed_two_way


def refuse_events(pair: Pair, how: str) -> None:
    if how == "restricted key without Events (403)":
        pair.stripe.permissions.deny("event", "read")
    else:
        pair.stripe.permissions.missing_apis.add("/v1/events")


@pytest.mark.parametrize("how", ["restricted key without Events (403)", "server without the Events API (404)"])
def test_a_stripe_key_that_cannot_read_events_syncs_with_full_listings(tmp_path: Path, how: str) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 20)
        refuse_events(pair, how)
        loaded = pair.load()
        store = pair.store(loaded)

        first = pair.run(loaded, store)
        pair.stripe.add_record({"name": "Later Person", "email": "later@example.com"})
        second = pair.run(loaded, store)

        for report in (first, second):
            assert report.status == "ok", report.error
            assert report.notes.count(f"left: {EVENTS_UNAVAILABLE}") == 1, report.notes  # once per run
        assert "later@example.com" in {r.get("email") for r in pair.google.records()}
        assert store.cursor("stripe-google", "left") is None  # nothing to resume from: the next run lists again


def test_the_note_is_said_once_however_many_pages_the_listing_has(tmp_path: Path) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        for i in range(250):  # three pages of 100
            pair.stripe.add_record({"name": f"Person {i}", "email": f"p{i}@example.com"})
        pair.stripe.permissions.deny("event")
        loaded = pair.load()
        report = pair.run(loaded, pair.store(loaded))
        assert report.status == "ok", report.error
        assert report.notes == [f"left: {EVENTS_UNAVAILABLE}"]


def test_a_permission_the_run_needs_still_fails_the_run(tmp_path: Path) -> None:
    """Only optional capabilities degrade: a key that cannot read customers fails clearly."""
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 4)
        pair.stripe.permissions.deny("customer")
        loaded = pair.load()
        store = pair.store(loaded)
        report = pair.run(loaded, store)
        assert report.status == "error"
        assert report.error is not None and "rak_customer_read" in report.error
        assert store.account_health("stripe").ok  # a permission is not a revoked key: nothing pauses


def test_a_quickbooks_company_without_cdc_lists_in_full_every_run(tmp_path: Path) -> None:
    sandbox = QuickBooksSandbox(seed=5)
    sandbox.missing_apis.add("cdc")
    with SandboxServer(sandbox) as server:
        config = tmp_path / "pairsync.yaml"
        config.write_text(yaml.safe_dump({
            "accounts": {"qb": {"connector": "quickbooks", "settings": server.settings()},
                         "mem": {"connector": "memory", "settings": {"store": f"cdc-{tmp_path.name}"}}},
            "connections": [{"name": "people", "left": "qb", "right": "mem", "direction": "left-to-right"}],
        }))
        loaded = load_config(config)
        store = StateStore(loaded.state_url)
        reports = [asyncio.run(run_connection(loaded, loaded.config.connections[0], store)) for _ in range(2)]
        assert [r.status for r in reports] == ["ok", "ok"], [r.error for r in reports]
        assert reports[0].notes == []  # the first run lists in full anyway
        assert reports[1].notes == [f"left: {CDC_UNAVAILABLE.format(status=404)}"]
