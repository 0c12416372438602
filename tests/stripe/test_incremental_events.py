"""Incremental reads take each customer from its newest event, and request only what the events cannot give.

A `customer.created` or `customer.updated` event carries the whole customer,
so a customers-only read after N changes costs the event pages alone. With the
derived fields, subscriptions come from the `customer.subscription.*` events
for a customer created within the window (the feed then holds all of them) and
from one listing per customer otherwise. Whatever the path, the records equal
what a full read returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.stripe import StripeConnector
from connectors.stripe.events import Changes, in_order, own_update
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import ConnectorContext
from engine.records import Record, WriteRequest
from engine.sandbox import SandboxServer

from .conftest import read_all, run, settings_for

EVENT_PAGE = 100


@pytest.fixture
def account() -> Iterator[tuple[StripeSandbox, SandboxServer]]:
    """A fresh account per test: 300 customers over two years, most with a subscription."""
    sandbox = StripeSandbox(seed=300, rng_seed=5)
    with SandboxServer(sandbox) as server:
        yield sandbox, server


def counted(server: SandboxServer, **overrides: Any) -> tuple[StripeConnector, ConnectorContext]:
    context = ConnectorContext("stripe-events")
    return StripeConnector(settings_for(server, **overrides), context), context


def cursor_now(server: SandboxServer, **overrides: Any) -> Any:
    pages, _ = run(counted(server, **overrides)[0], read_all)
    return pages[-1].cursor


def comparable(record: Record) -> tuple[Any, ...]:
    """What a record says, without its change time (a full listing has none)."""
    return record.id, dict(record.fields), record.tags, record.deleted


def full_read(server: SandboxServer, ids: set[str], **overrides: Any) -> dict[str, tuple[Any, ...]]:
    _, records = run(counted(server, **overrides)[0], read_all)
    return {r.id: comparable(r) for r in records if r.id in ids}


def incremental(server: SandboxServer, cursor: Any, **overrides: Any) -> tuple[dict[str, Record], int]:
    connector, context = counted(server, **overrides)
    _, records = run(connector, lambda c: read_all(c, cursor))
    return {r.id: r for r in records}, context.requests


def live_ids(sandbox: StripeSandbox) -> list[str]:
    return [c["id"] for c in sandbox.store.of_kind("customer") if not c.get("deleted")]


@pytest.mark.parametrize("changed", [1, 10, 60, 150])
def test_customers_only_reads_after_n_updates_cost_the_event_pages(account, changed: int) -> None:
    sandbox, server = account
    cursor = cursor_now(server, read_subscriptions=False)
    ids = live_ids(sandbox)[:changed]
    for number, customer in enumerate(ids):
        sandbox.update_record(customer, {"phone": f"+1555030{number:04d}", "metadata.tier": f"t{number % 3}"})
    records, requests = incremental(server, cursor, read_subscriptions=False)
    pages = math.ceil(changed / EVENT_PAGE)
    assert requests <= pages + math.ceil(0.2 * changed)
    assert requests == pages, "the customer comes from its event: no request per customer"
    assert {r.id: comparable(r) for r in records.values()} == full_read(server, set(ids), read_subscriptions=False)


def test_the_newest_of_several_events_gives_the_record(account) -> None:
    sandbox, server = account
    cursor = cursor_now(server, read_subscriptions=False)
    customer = live_ids(sandbox)[0]
    for name in ("First Name", "Second Name", "Third Name"):
        sandbox.update_record(customer, {"name": name})
    records, requests = incremental(server, cursor, read_subscriptions=False)
    assert (records[customer].get("name"), requests) == ("Third Name", 1)


def test_a_deleted_customer_comes_from_its_event_and_costs_nothing(account) -> None:
    sandbox, server = account
    cursor = cursor_now(server, read_subscriptions=False)
    kept, removed = live_ids(sandbox)[:2]
    sandbox.update_record(removed, {"name": "Soon Gone"})
    sandbox.delete_record(removed)
    sandbox.update_record(kept, {"name": "Still Here"})
    records, requests = incremental(server, cursor, read_subscriptions=False)
    assert records[removed].deleted and records[kept].get("name") == "Still Here"
    assert requests == 1, "one event page; neither customer fetched"


def test_customers_created_in_the_window_take_their_subscriptions_from_the_feed(account) -> None:
    """Created after the cursor: every subscription they have is in the feed, so only the catalogue is read."""
    sandbox, server = account
    cursor = cursor_now(server)
    prices = [p["id"] for p in sandbox.store.of_kind("price") if p.get("recurring")]
    born = [sandbox.add_record({"email": f"born{n}@example.com", "name": f"Born {n}"}) for n in range(12)]
    for number, customer in enumerate(born[:8]):
        subscription = sandbox.subscribe(customer, prices[number % len(prices)], quantity=number + 1)
        if number % 3 == 1:
            sandbox.set_subscription_status(subscription, "past_due")
        if number % 3 == 2:
            sandbox.cancel(subscription)
    records, requests = incremental(server, cursor)
    assert set(records) == set(born)
    assert {r.id: comparable(r) for r in records.values()} == full_read(server, set(born))
    assert requests == 1 + 1, "one event page, then the product catalogue (product names of the plans)"


def test_existing_customers_with_derived_fields_list_their_subscriptions_once(account) -> None:
    """Created before the window, a customer may have subscriptions the feed never showed: one listing each."""
    sandbox, server = account
    cursor = cursor_now(server)
    ids = live_ids(sandbox)[:20]
    for number, customer in enumerate(ids):
        sandbox.update_record(customer, {"phone": f"+1555040{number:04d}"})
    records, requests = incremental(server, cursor)
    assert {r.id: comparable(r) for r in records.values()} == full_read(server, set(ids))
    assert requests <= 1 + len(ids) + 1, "the event page, a listing per customer, the catalogue"


def test_pairsyncs_own_updates_are_not_read_back(account) -> None:
    """The run that updated a customer kept what Stripe answered: its event names nothing to read."""
    sandbox, server = account
    cursor = cursor_now(server)
    mine, theirs = live_ids(sandbox)[:2]
    connector, _ = counted(server)
    [result] = run(connector, lambda c: c.upsert([WriteRequest(key="own-1", id=mine, fields={"name": "By Us"})]))
    assert result.ok
    sandbox.update_record(theirs, {"name": "By Someone"})
    records, requests = incremental(server, cursor)
    assert set(records) == {theirs}
    assert requests <= 1 + 1 + 1, "the event page, the other customer's subscriptions, the catalogue"


def test_customers_only_connections_skip_subscription_events(account) -> None:
    sandbox, server = account
    cursor = cursor_now(server, read_subscriptions=False)
    price = next(p["id"] for p in sandbox.store.of_kind("price") if p.get("recurring"))
    for customer in live_ids(sandbox)[:5]:
        sandbox.subscribe(customer, price)
    records, requests = incremental(server, cursor, read_subscriptions=False)
    assert (records, requests) == ({}, 1)


def test_sandbox_events_carry_the_whole_customer_as_a_read_returns_it(account) -> None:
    """`data.object` is the customer exactly as a retrieve answers it, `previous_attributes` names the
    changed keys with their old values, and `request` names the API request and its Idempotency-Key."""
    sandbox, server = account
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        made = http.post("/v1/customers", data={"email": "whole@example.com"},
                         headers={"Idempotency-Key": "whole-1"}).json()
        http.post(f"/v1/customers/{made['id']}", data={"name": "Whole", "metadata[tier]": "gold"})
        now = http.get(f"/v1/customers/{made['id']}").json()
        events = http.get("/v1/events", params={"limit": 2}).json()["data"]
    updated, created = events
    assert (created["type"], updated["type"]) == ("customer.created", "customer.updated")
    assert created["data"]["object"] == made and updated["data"]["object"] == now
    assert updated["data"]["previous_attributes"] == {"name": None, "metadata": {"tier": None}}
    assert created["request"]["idempotency_key"] == "whole-1" and created["request"]["id"].startswith("req_")
    assert set(updated["request"]) == {"id", "idempotency_key"} and "previous_attributes" not in created["data"]


def _event(number: int, created: int, name: str, kind: str = "customer.updated") -> dict[str, Any]:
    customer = {"id": "cus_tie", "object": "customer", "name": name, "created": 1, "metadata": {}}
    return {"id": f"evt_{number}", "type": kind, "created": created, "data": {"object": customer},
            "request": {"id": None, "idempotency_key": None}}


@pytest.mark.parametrize(
    ("listed", "winner"),
    [
        pytest.param([(1, 100, "older"), (2, 101, "newer")], "newer", id="in order"),
        pytest.param([(1, 101, "newer"), (2, 100, "older")], "newer", id="listed out of time order"),
        pytest.param([(1, 100, "lower in the list"), (2, 100, "higher in the list")], "higher in the list",
                     id="same second: the one Stripe lists nearer the top"),
    ],
)
def test_events_fold_by_time_then_list_position(listed: list[tuple[int, int, str]], winner: str) -> None:
    """`listed`: events in the order read (Stripe's list reversed: the last is the top of the list)."""
    changes = Changes()
    for event in in_order([_event(*spec) for spec in listed]):
        changes.add(event)
    assert changes.objects["cus_tie"]["name"] == winner and changes.ids == ["cus_tie"]


def test_a_deletion_wins_over_an_update_in_the_same_second() -> None:
    changes = Changes()
    events = [_event(1, 100, "gone", "customer.deleted"), _event(2, 100, "updated")]
    for event in in_order(events):
        changes.add(event)
    assert changes.deleted == {"cus_tie"}


@pytest.mark.parametrize(
    ("kind", "key", "own"),
    [
        ("customer.updated", "pairsync-update-5f2b", True),
        ("customer.updated", "their-integration-1", False),  # another program's keyed update is a change
        ("customer.updated", None, False),  # the dashboard, or a request without a key
        ("customer.created", "pairsync-update-5f2b", False),  # creates are read back: cheap, and crash-safe
    ],
)
def test_only_pairsyncs_own_keyed_updates_are_recognised(kind: str, key: str | None, own: bool) -> None:
    event = {**_event(1, 100, "x", kind), "request": {"id": "req_1", "idempotency_key": key}}
    assert own_update(event) is own
