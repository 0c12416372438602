"""The split listing (connectors/stripe/listing.py): every customer exactly once, for a bounded number of requests.

Requests are counted by the sandbox itself. A split listing pays, beyond the
pages a single chain reads, the oldest-object probes and about one partial
page per slice; slices are balanced by splitting running ones, not by cutting
many small ones up front, so that overhead does not grow with the worker count
times a constant.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.stripe.listing import (
    PROBE_SPANS,
    REFINE_CUTS,
    REFINE_ROUNDS,
    SPLIT_FROM_PAGES,
    Slice,
    customer_pages,
    partitioned_pages,
)
from connectors.stripe.pagination import PAGE_SIZE, raw_lister
from connectors.stripe.sandbox import StripeSandbox
from engine.sandbox import SandboxServer

from .conftest import run, settings_for

COUNT = 1_250
PAGES = -(-COUNT // PAGE_SIZE)
PROBES = len(PROBE_SPANS) + REFINE_ROUNDS * (REFINE_CUTS - 1)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[StripeSandbox, SandboxServer]]:
    sandbox = StripeSandbox(seed=0, rng_seed=11)
    sandbox.seed(COUNT)
    with SandboxServer(sandbox) as server:
        yield sandbox, server


def listed(server: SandboxServer, partitions: int) -> tuple[Counter[str], int]:
    """Customer ids as the listing gave them (with repeats), and the requests the sandbox answered."""
    from connectors.stripe import StripeConnector
    from engine.connector import ConnectorContext

    connector = StripeConnector(settings_for(server, partitions=partitions), ConnectorContext("split"))

    async def body(c: StripeConnector) -> Counter[str]:
        return Counter([customer["id"] async for page in customer_pages(c.client, partitions) for customer in page])

    before = server.knobs.requests
    ids = run(connector, body)
    return ids, server.knobs.requests - before


@pytest.mark.parametrize("partitions", [2, 4, 7])
def test_every_customer_is_listed_once_for_the_probes_and_a_partial_page_per_slice(served, partitions: int) -> None:
    sandbox, server = served
    ids, requests = listed(server, partitions)
    assert set(ids) == {r["id"] for r in sandbox.records()} and max(ids.values()) == 1
    # the newest page is the first slice's first page: head + probes + pages + one partial page per slice,
    # plus one per split a worker made (at most one per SPLIT_FROM_PAGES pages)
    most = PROBES + PAGES + partitions + PAGES // SPLIT_FROM_PAGES
    assert requests <= most, f"{requests} requests for {PAGES} pages"


def test_the_split_listing_pays_less_than_a_quarter_more_than_one_chain(served) -> None:
    _, server = served
    _, single = listed(server, 1)
    _, split = listed(server, 4)
    assert single == PAGES
    assert split <= single + PROBES + 4 + PAGES // SPLIT_FROM_PAGES


def test_a_one_page_account_costs_one_request() -> None:
    sandbox = StripeSandbox(seed=0)
    sandbox.seed(30)
    with SandboxServer(sandbox) as server:
        ids, requests = listed(server, 4)
    assert len(ids) == len(sandbox.records()) and requests == 1


def test_a_slice_split_while_its_page_is_in_flight_gives_each_customer_to_one_part(served) -> None:
    """The page asked for before the split reaches below the new bound: those customers are the new part's."""
    sandbox, server = served
    times = sorted((int(r["created"]) for r in sandbox.store.of_kind("customer")), reverse=True)
    low, high = times[PAGE_SIZE + PAGE_SIZE // 2], times[0] + 1  # a page and a half, give or take a second
    from connectors.stripe import StripeConnector
    from engine.connector import ConnectorContext

    connector = StripeConnector(settings_for(server), ConnectorContext("split"))

    async def body(c: StripeConnector) -> tuple[list[str], int]:
        method = raw_lister(c.client, "/v1/customers")
        base: dict[str, Any] = {"limit": PAGE_SIZE}
        whole = Slice(low, high)
        page = await method(whole.query(base))
        got = whole.take([o.to_dict() for o in page.data], page.has_more)
        in_flight = asyncio.ensure_future(method(whole.query(base)))  # asked for with the old bound
        older = whole.split()
        assert older.high == whole.low and older.low == low < whole.low
        page = await in_flight
        mine = whole.take([o.to_dict() for o in page.data], page.has_more)
        assert whole.done and len(mine) < len(page.data), "the page reached below the new bound"
        got += mine
        while not older.done:
            page = await method(older.query(base))
            got += older.take([o.to_dict() for o in page.data], page.has_more)
        return [customer["id"] for customer in got], len(mine)

    ids, _ = run(connector, body)
    expected = [r["id"] for r in sandbox.store.of_kind("customer") if low <= int(r["created"]) < high]
    assert sorted(ids) == sorted(expected)


def test_pages_come_from_partitioned_pages_directly_too(served) -> None:
    """The generator on its own (as B4 and the connector use it): the same customers as one chain."""
    sandbox, server = served
    from connectors.stripe import StripeConnector
    from engine.connector import ConnectorContext

    connector = StripeConnector(settings_for(server), ConnectorContext("split"))

    async def body(c: StripeConnector) -> list[str]:
        method = raw_lister(c.client, "/v1/customers")
        return [cu["id"] async for page in partitioned_pages(method, {"limit": PAGE_SIZE}, 3) for cu in page]

    assert Counter(run(connector, body)) == Counter(r["id"] for r in sandbox.records())
