"""Full listings of customers, sequential or split by `created` range.

Stripe lists newest first and pages only forwards, so one listing is one
request at a time. For a large account the `created` range is split into
slices listed concurrently (more slices than workers, so uneven slices
balance out); half-open slices return each customer exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import stripe

from .pagination import PAGE_SIZE, ListMethod, pages, raw_lister

SLICES_PER_WORKER = 4
DAY = 86400
# Where the oldest object is looked for: 1 day back, 4 days, ... 4**7 days (45 years), all at once.
PROBE_SPANS = [DAY * 4**power for power in range(8)]
REFINE_CUTS = 8  # each refining round asks 7 points at once and narrows the range eightfold
REFINE_ROUNDS = 2

Customer = dict[str, Any]


def customer_pages(
    client: stripe.StripeClient, partitions: int, expand: list[str] | None = None
) -> AsyncIterator[list[Customer]]:
    params: dict[str, Any] = {"limit": PAGE_SIZE, **({"expand": expand} if expand else {})}
    method = raw_lister(client, "/v1/customers")
    if partitions <= 1:
        return pages(method, params)
    return partitioned_pages(method, params, partitions)


async def oldest_bound(method: ListMethod, params: dict[str, Any], newest: int) -> int:
    """A time with nothing created before it, close to the oldest object.

    Stripe lists newest first and cannot sort the other way, so the oldest
    object is bracketed by `created[lt]` probes: one round at exponentially
    spaced points, then rounds that cut the bracket in eight. Probes of a
    round go out together, so the cost is three round trips, not twenty.
    """
    base = {key: value for key, value in params.items() if key != "expand"}

    async def any_before(timestamps: list[int]) -> list[bool]:
        found = await asyncio.gather(*(method({**base, "limit": 1, "created": {"lt": t}}) for t in timestamps))
        return [bool(page.data) for page in found]

    points = [newest - span for span in PROBE_SPANS]
    older = await any_before(points)
    if all(older):
        return 0
    first_clear = older.index(False)  # nothing before points[first_clear]; something before the point after it
    low = points[first_clear]
    high = points[first_clear - 1] if first_clear else newest + 1
    for _ in range(REFINE_ROUNDS):
        if high - low <= 60:
            break
        cuts = [low + (high - low) * i // REFINE_CUTS for i in range(1, REFINE_CUTS)]
        for cut, found in zip(cuts, await any_before(cuts), strict=True):
            if found:
                high = cut
                break
            low = cut
    return max(int(low), 0)


def slices(low: int, high: int, count: int) -> list[tuple[int, int]]:
    """`count` half-open [start, end) ranges covering [low, high) without gaps or overlap."""
    bounds = sorted({low + (high - low) * i // count for i in range(count + 1)})
    return list(itertools.pairwise(bounds))


async def partitioned_pages(
    method: ListMethod, base: dict[str, Any], partitions: int
) -> AsyncIterator[list[Customer]]:
    """Pages from concurrent `created` slices, in no particular order."""
    newest_page = await method({key: value for key, value in base.items() if key != "expand"} | {"limit": 1})
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
