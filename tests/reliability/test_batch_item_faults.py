"""A batch with one failing item: that record fails alone, is reported, and is retried next run.

The sandboxes' `fail_emails` knob makes the API refuse writes carrying an
address with its own validation error. Google refuses a whole batch with a
400 naming the bad contact (the connector then sends its records one by
one); QuickBooks answers the batch item by item, a Fault for the bad one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bench.harness import CONNECTION, Pair
from connectors.quickbooks.connector import QuickBooksConnector
from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.quickbooks.settings import QuickBooksSettings
from engine.config import LoadedConfig
from engine.connector import ConnectorContext
from engine.planner.model import SIDES
from engine.records import WriteRequest, WriteResult
from engine.runner import Report
from engine.sandbox import SandboxServer
from engine.state.store import StateStore
from tests.reliability.helpers import duplicates, google_state, seed_two_way, stripe_state

RECORDS = 40
REFUSED = "s3@example.com"  # a person only in Stripe at first (see seed_two_way)


def stripe_id(pair: Pair, email: str) -> str:
    return next(str(r["id"]) for r in pair.stripe.records() if r.get("email") == email)


def google_person(pair: Pair, email: str) -> dict[str, object] | None:
    return next((r for r in pair.google.records() if r.get("email") == email), None)


def assert_failures_are_the_retries(report: Report, store: StateStore) -> None:
    assert report.outcome is not None
    for side in SIDES:
        assert set(report.outcome.failures[side]) == set(store.retries(CONNECTION, side)), side


def run_refused_twice(pair: Pair, loaded: LoadedConfig, store: StateStore) -> list[Report]:
    """Two runs while the address is refused: each fails that record alone and says so."""
    reports = [pair.run(loaded, store) for _ in range(2)]
    for report in reports:
        summary = report.summary()
        assert summary["status"] == "failed" and summary["failed"] == 1, summary
        assert_failures_are_the_retries(report, store)
        assert stripe_id(pair, REFUSED) in store.retries(CONNECTION, "left")
        assert report.outcome is not None
        messages = [error for failures in report.outcome.failures.values() for error in failures.values()]
        assert messages and all(REFUSED in message for message in messages), "the API's own message, kept"
    return reports


def assert_settles_once_allowed(pair: Pair, loaded: LoadedConfig, store: StateStore) -> None:
    pair.google.fail_emails = set()
    retried = pair.run(loaded, store).summary()
    assert retried["status"] == "ok" and retried["failed"] == 0, retried
    assert all(not store.retries(CONNECTION, side) for side in SIDES)
    quiet = pair.run(loaded, store).summary()
    assert quiet["status"] == "ok" and quiet["created"] == {"left": 0, "right": 0}, quiet
    stripe_side, google_side = stripe_state(pair), google_state(pair)
    assert duplicates(stripe_side) == {} and duplicates(google_side) == {}
    assert {r[0] for r in stripe_side} == {r[0] for r in google_side}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with Pair(tmp_path, retry_wait_s=0.05) as running:
        seed_two_way(running, RECORDS)
        yield running


def test_a_refused_contact_in_a_create_batch_fails_alone(pair: Pair) -> None:
    pair.google.fail_emails = {REFUSED}
    loaded = pair.load()
    store = pair.store(loaded)
    first, _ = run_refused_twice(pair, loaded, store)
    stripe_only = (RECORDS - RECORDS // 10) // 2
    assert first.summary()["created"]["right"] == stripe_only - 1
    assert google_person(pair, REFUSED) is None
    batches = [e.status for e in pair.google.state.log if e.path.endswith(":batchCreateContacts")]
    assert batches == [400], "the batch was refused as a whole; its records went one by one"
    assert_settles_once_allowed(pair, loaded, store)
    assert google_person(pair, REFUSED) is not None


def test_a_refused_contact_in_an_update_batch_fails_alone(pair: Pair) -> None:
    loaded = pair.load()
    store = pair.store(loaded)
    assert pair.run(loaded, store).status == "ok"
    renamed = {email: f"Renamed {n}" for n, email in enumerate((REFUSED, "s4@example.com", "s5@example.com"))}
    for email, name in renamed.items():
        pair.stripe.update_record(stripe_id(pair, email), {"name": name})
    pair.google.fail_emails = {REFUSED}
    synced = len(pair.google.state.log)
    run_refused_twice(pair, loaded, store)
    sent = [(e.path.rsplit(":", 1)[-1], e.status) for e in pair.google.state.log[synced:] if e.method != "GET"]
    # refused as a batch, then sent one by one; the next run sends only the refused one
    assert sent[0] == ("batchUpdateContacts", 400)
    assert Counter(sent[1:]) == {("updateContact", 200): 2, ("updateContact", 400): 2}
    names = {email: (google_person(pair, email) or {}).get("givenName") for email in renamed}
    assert names == {REFUSED: "Stripe", "s4@example.com": "Renamed", "s5@example.com": "Renamed"}
    assert_settles_once_allowed(pair, loaded, store)
    assert (google_person(pair, REFUSED) or {}).get("familyName") == "0"


# QuickBooks answers a batch item by item ---------------------------------------


@pytest.fixture
def quickbooks() -> Iterator[SandboxServer]:
    with SandboxServer(QuickBooksSandbox()) as server:
        yield server


def upsert(server: SandboxServer, requests: Sequence[WriteRequest]) -> list[WriteResult]:
    settings = QuickBooksSettings(**{**server.settings(), "retry_max_wait": 0.01})

    async def write() -> list[WriteResult]:
        connector = QuickBooksConnector(settings, ConnectorContext("quickbooks"))
        try:
            return list(await connector.upsert(requests))
        finally:
            await connector.aclose()

    return asyncio.run(write())


def customer(n: int) -> WriteRequest:
    return WriteRequest(key=f"journal-{n}", id=None,
                        fields={"DisplayName": f"Person {n}", "PrimaryEmailAddr.Address": f"p{n}@example.com"})


def test_a_refused_customer_in_a_quickbooks_batch_fails_alone_and_lands_on_retry(quickbooks: SandboxServer) -> None:
    sandbox = quickbooks.sandbox
    assert isinstance(sandbox, QuickBooksSandbox)
    sandbox.fail_emails = {"p2@example.com"}
    results = upsert(quickbooks, [customer(n) for n in range(5)])
    errors = {r.key: r.error for r in results if r.error}
    assert list(errors) == ["journal-2"] and "6000" in str(errors["journal-2"])
    assert "p2@example.com" in str(errors["journal-2"])
    assert sorted(r["PrimaryEmailAddr.Address"] for r in sandbox.records()) == [
        f"p{n}@example.com" for n in (0, 1, 3, 4)
    ]
    sandbox.fail_emails = set()
    (retried,) = upsert(quickbooks, [customer(2)])
    assert retried.error is None and retried.id is not None
    emails = [r["PrimaryEmailAddr.Address"] for r in sandbox.records()]
    assert sorted(emails) == [f"p{n}@example.com" for n in range(5)]


def test_a_refused_update_in_a_quickbooks_batch_fails_alone(quickbooks: SandboxServer) -> None:
    sandbox = quickbooks.sandbox
    assert isinstance(sandbox, QuickBooksSandbox)
    ids = [sandbox.add_record({"DisplayName": f"Person {n}", "PrimaryEmailAddr.Address": f"p{n}@example.com"})
           for n in range(3)]
    sandbox.fail_emails = {"p1@example.com"}
    changes = [WriteRequest(key=f"u{n}", id=rid, fields={"PrimaryEmailAddr.Address": f"p{n}@example.com",
                                                          "CompanyName": "Moved"})
               for n, rid in enumerate(ids)]
    results = upsert(quickbooks, changes)
    assert [bool(r.error) for r in results] == [False, True, False]
    companies = {r["PrimaryEmailAddr.Address"]: r.get("CompanyName") for r in sandbox.records()}
    assert companies == {"p0@example.com": "Moved", "p1@example.com": None, "p2@example.com": "Moved"}
