"""A full listing lists the customers and the canceled subscriptions at the same time.

Canceled subscriptions are listed alongside the customers (for the customers
with no current subscription). The customer listing must not wait for them:
its pages keep being asked for while the canceled ones are, as the sandbox's
request log shows in the order requests arrive.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.stripe import StripeConnector
from connectors.stripe.pagination import PAGE_SIZE
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import ConnectorContext
from engine.sandbox import SandboxServer

from .conftest import read_all, run, settings_for

CUSTOMERS = 6 * PAGE_SIZE
CANCELED = 5 * PAGE_SIZE  # beyond the seeding's own: five more pages of canceled subscriptions
LATENCY_MS = 20


Served = tuple[StripeSandbox, SandboxServer]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    sandbox = StripeSandbox(seed=0, rng_seed=5)
    sandbox.seed(CUSTOMERS)
    price = sandbox.store.of_kind("price")[0]["id"]
    for customer in sandbox.store.of_kind("customer")[:CANCELED]:
        sandbox.cancel(sandbox.subscribe(customer["id"], price))
    with SandboxServer(sandbox) as server:
        yield sandbox, server


def requests_of(server: SandboxServer, partitions: int) -> tuple[list[str], list[str]]:
    """The customer and canceled-subscription list requests of one full listing, in one arrival order log."""
    server.knobs.log, server.knobs.latency_ms = [], LATENCY_MS
    try:
        connector = StripeConnector(settings_for(server, partitions=partitions), ConnectorContext("overlap"))
        run(connector, read_all)
        log = server.knobs.log
    finally:
        server.knobs.log, server.knobs.latency_ms = None, 0.0
    return [r for r in log if r.startswith(("GET /v1/customers?", "GET /v1/subscriptions?"))], log


def test_customer_pages_are_listed_while_the_canceled_subscriptions_are(served: Served) -> None:
    """Before the last canceled page is asked for, the customer listing has gone past its first page."""
    _, server = served
    listings, _ = requests_of(server, partitions=1)
    canceled = [i for i, r in enumerate(listings) if "status=canceled" in r]
    customers = [i for i, r in enumerate(listings) if r.startswith("GET /v1/customers?")]
    later_customers = [i for i in customers if "starting_after" in listings[i]]
    assert len(canceled) > 5 and len(later_customers) >= 5
    overlapped = [i for i in later_customers if i < canceled[-1]]
    assert len(overlapped) >= 2, f"customer pages waited for the canceled subscriptions: {listings}"


@pytest.mark.parametrize("partitions", [1, 3])
def test_the_pages_keep_their_shape_and_every_churned_customer_its_status(
    served: Served, partitions: int
) -> None:
    """One page per customer page, the cursor and `last` on the last one only; each customer once."""
    sandbox, server = served
    connector = StripeConnector(settings_for(server, partitions=partitions), ConnectorContext("overlap"))
    pages, records = run(connector, read_all)
    assert [p.last for p in pages] == [False] * (len(pages) - 1) + [True]
    assert pages[-1].cursor is not None and all(p.cursor is None for p in pages[:-1])
    assert all(p.full for p in pages)
    expected = {r["id"]: r["subscription_status"] for r in sandbox.records()}
    assert {r.id: r.fields["subscription_status"] for r in records} == expected
    assert len(records) == len(expected) == CUSTOMERS
    assert list(expected.values()).count("canceled") > PAGE_SIZE


def test_a_refused_canceled_listing_fails_the_full_listing(served: Served) -> None:
    """The canceled subscriptions are needed for the derived fields: their error is the listing's."""
    import stripe

    sandbox, server = served
    sandbox.permissions.deny("subscription", "read")
    try:
        connector = StripeConnector(settings_for(server), ConnectorContext("overlap"))
        with pytest.raises(stripe.PermissionError):
            run(connector, read_all)
    finally:
        sandbox.permissions.denied.clear()


def test_a_one_page_account_pays_no_more_for_partitions() -> None:
    """A small account costs the same requests whether its customer listing may be split or not."""
    sandbox = StripeSandbox(seed=0, rng_seed=5)
    sandbox.seed(40)
    with SandboxServer(sandbox) as server:
        counts = []
        for partitions in (1, 4):
            before = server.knobs.requests
            run(StripeConnector(settings_for(server, partitions=partitions), ConnectorContext("small")), read_all)
            counts.append(server.knobs.requests - before)
    assert counts[0] == counts[1]
