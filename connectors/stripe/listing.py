"""Full listings of customers and subscriptions, sequential or split by `created` range.

Stripe lists newest first and pages only forwards, so one listing is one
request at a time. For a large account the `created` range is split into
slices listed concurrently (more slices than workers, so uneven slices
balance out); half-open slices return each customer exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import stripe

from .pagination import PAGE_SIZE, ListMethod, list_all, pages

SUBSCRIPTION_EXPAND = ["data.items.data.price.product"]
SLICES_PER_WORKER = 4
DAY = 86400

Customer = dict[str, Any]


async def subscriptions_by_customer(
    client: stripe.StripeClient, customer: str | None = None, partitions: int = 1
) -> dict[str, list[dict[str, Any]]]:
    """Every subscription (all statuses) with prices and products, grouped by customer id."""
    params: dict[str, Any] = {"status": "all", "limit": PAGE_SIZE, "expand": SUBSCRIPTION_EXPAND}
    if customer:
        params["customer"] = customer
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    found: list[dict[str, Any]] = []
    if partitions <= 1:
        found = await list_all(client.v1.subscriptions.list_async, params)
    else:
        async for page in partitioned_pages(client.v1.subscriptions.list_async, params, partitions):
            found.extend(page)
    for subscription in found:
        owner = subscription.get("customer")
        grouped[str(owner.get("id") if isinstance(owner, dict) else owner)].append(subscription)
    return dict(grouped)


def customer_pages(client: stripe.StripeClient, partitions: int) -> AsyncIterator[list[Customer]]:
    params = {"limit": PAGE_SIZE}
    if partitions <= 1:
        return pages(client.v1.customers.list_async, params)
    return partitioned_pages(client.v1.customers.list_async, params, partitions)


async def oldest_bound(method: ListMethod, params: dict[str, Any], newest: int) -> int:
    """A time with nothing created before it, close to the oldest object (about ten probes)."""

    async def any_before(timestamp: int) -> bool:
        return bool((await method({**params, "limit": 1, "created": {"lt": timestamp}})).data)

    span = DAY
    while await any_before(newest - span):
        if newest - span <= 0:
            return 0
        span *= 4
    low, high = newest - span, newest - span // 4
    precision = max(60, span // 32)
    while high - low > precision:
        middle = (low + high) // 2
        if await any_before(middle):
            high = middle
        else:
            low = middle
    return max(low, 0)


def slices(low: int, high: int, count: int) -> list[tuple[int, int]]:
    """`count` half-open [start, end) ranges covering [low, high) without gaps or overlap."""
    bounds = sorted({low + (high - low) * i // count for i in range(count + 1)})
    return list(itertools.pairwise(bounds))


async def partitioned_pages(
    method: ListMethod, base: dict[str, Any], partitions: int
) -> AsyncIterator[list[Customer]]:
    """Pages from concurrent `created` slices, in no particular order."""
    newest_page = await method({**base, "limit": 1})
    if not newest_page.data:
        yield []
        return
    newest = int(newest_page.data[0].created)
    low = await oldest_bound(method, base, newest)
    queue: asyncio.Queue[list[Customer] | BaseException | None] = asyncio.Queue(maxsize=partitions * 2)
    workers = asyncio.Semaphore(partitions)

    async def one_slice(start: int, end: int) -> None:
        async with workers:
            params = {**base, "created": {"gte": start, "lt": end}}
            async for page in pages(method, params):
                if page:
                    await queue.put(page)

    async def produce() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for start, end in slices(low, newest + 1, partitions * SLICES_PER_WORKER):
                    group.create_task(one_slice(start, end))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            await queue.put(error.exceptions[0] if isinstance(error, BaseExceptionGroup) else error)
            return
        await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
