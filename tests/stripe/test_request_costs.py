"""What each read and write costs in requests, and that the cheaper reads still give the same records.

A changed customer is read (and an update answered) with its current
subscriptions expanded: one request, plus a `limit=1` probe for canceled
ones when it has no current subscription. The full listing expands them on
the customer pages. Whatever path a customer takes, its derived fields match
the sandbox's own computation from every subscription it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.stripe import StripeConnector
from connectors.stripe.listing import PROBE_SPANS, REFINE_CUTS, REFINE_ROUNDS
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import ConnectorContext
from engine.records import Record, WriteRequest
from engine.sandbox import SandboxServer

from .conftest import read_all, run, settings_for

DERIVED = ("plans", "has_subscriptions", "subscription_status", "lifecycle_stage", "mrr", "mrr_currency",
           "renewal_date")


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[StripeSandbox, SandboxServer, dict[str, str]]]:
    """Seeded customers plus one of each shape: none, churned only, live and churned, more than ten."""
    sandbox = StripeSandbox(seed=120, rng_seed=3)
    price = sandbox.store.of_kind("price")[0]["id"]
    shapes = {name: sandbox.add_record({"email": f"{name}@example.com", "name": name.title()})
              for name in ("never", "churned", "mixed", "many")}
    sandbox.cancel(sandbox.subscribe(shapes["churned"], price))
    sandbox.cancel(sandbox.subscribe(shapes["mixed"], price))
    sandbox.subscribe(shapes["mixed"], price, quantity=2)
    for quantity in range(1, 13):
        sandbox.subscribe(shapes["many"], price, quantity=quantity)
    with SandboxServer(sandbox) as server:
        yield sandbox, server, shapes


def counted(server: SandboxServer, **overrides: Any) -> tuple[StripeConnector, ConnectorContext]:
    context = ConnectorContext("stripe-costs")
    return StripeConnector(settings_for(server, **overrides), context), context


def derived(record: Record | dict[str, Any]) -> dict[str, Any]:
    fields = record.fields if isinstance(record, Record) else record
    return {name: fields.get(name) for name in DERIVED}


@pytest.mark.parametrize(
    ("shape", "requests"),
    [
        ("mixed", 2),  # the customer, then the product catalogue (read once per connector)
        ("never", 2),  # the customer, then the canceled probe: nothing, so no status
        ("churned", 2),  # the customer, then the canceled probe: churned
        ("many", 3),  # more than the embedded ten: the customer's own listing, then the catalogue
    ],
)
def test_a_single_read_costs_one_request_plus_what_the_shape_needs(account, shape: str, requests: int) -> None:
    sandbox, server, shapes = account
    connector, context = counted(server)
    record = run(connector, lambda c: c.get(shapes[shape]))
    expected = next(r for r in sandbox.records() if r["id"] == shapes[shape])
    assert record is not None and derived(record) == derived(expected)
    assert context.requests == requests


def test_the_catalogue_is_read_once_per_connector(account) -> None:
    sandbox, server, _ = account
    live = [r["id"] for r in sandbox.records() if r["has_subscriptions"]][:5]
    connector, context = counted(server)

    async def read(c: StripeConnector) -> list[Record | None]:
        return [await c.get(customer) for customer in live]

    run(connector, read)
    assert context.requests == len(live) + 1


def test_an_update_answers_with_the_derived_fields_in_one_request(account) -> None:
    sandbox, server, shapes = account
    connector, context = counted(server)
    request = WriteRequest(key="costs-1", id=shapes["mixed"], fields={"phone": "+15550000001"})
    [result] = run(connector, lambda c: c.upsert([request]))
    expected = next(r for r in sandbox.records() if r["id"] == shapes["mixed"])
    assert result.record is not None and derived(result.record) == derived(expected)
    assert context.requests == 2, "the write, then the catalogue"


@pytest.mark.parametrize("partitions", [1, 4])
def test_every_path_gives_the_same_derived_fields(account, partitions: int) -> None:
    sandbox, server, _ = account
    expected = {r["id"]: derived(r) for r in sandbox.records()}
    _, listed = run(counted(server, partitions=partitions)[0], read_all)
    assert {r.id: derived(r) for r in listed} == expected


def test_customers_only_reads_no_subscription(account) -> None:
    sandbox, server, _ = account
    connector, context = counted(server, read_subscriptions=False)
    _, records = run(connector, read_all)
    pages = -(-len(sandbox.records()) // 100)
    assert context.requests == 1 + pages, "the events head, then the customer pages"
    assert all("mrr" not in r.fields for r in records) and all("email" in r.fields for r in records)


def test_the_partitioned_probe_goes_out_in_a_few_rounds(account) -> None:
    """The events head, the newest page (the first slice's first page), one round of spans, the refining
    rounds, then the pages and a partial page per slice: a bounded count whatever the account's age."""
    sandbox, server, _ = account
    connector, context = counted(server, partitions=2, read_subscriptions=False)
    _, records = run(connector, read_all)
    pages = -(-len(sandbox.records()) // 100)
    most = 1 + len(PROBE_SPANS) + REFINE_ROUNDS * (REFINE_CUTS - 1) + pages + 2 + 1
    assert records and context.requests <= most


@pytest.mark.parametrize("partitions", [1, 3])
def test_a_refused_key_fails_the_listing_pages_with_the_sdk_error_and_no_key(account, partitions: int) -> None:
    """Listing pages go through the SDK's raw request: errors are still the SDK's, the key never quoted."""
    import stripe

    from connectors.stripe.listing import customer_pages

    _, server, _ = account
    wrong = "sk_test_" + "x" * 24
    connector = StripeConnector(settings_for(server, api_key=wrong), ConnectorContext("stripe-costs"))

    async def first_page(c: StripeConnector) -> Any:
        return [page async for page in customer_pages(c.client, partitions)]

    with pytest.raises(stripe.AuthenticationError) as refused:
        run(connector, first_page)
    assert wrong not in str(refused.value)
