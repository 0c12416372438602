"""Full listings of customers, sequential or split by `created` range.

Stripe lists newest first and pages only forwards, so one listing is one
request at a time. For a large account the `created` range is split into one
slice per worker, listed concurrently. Slices are balanced while they run
rather than by cutting many small ones up front (each slice ends with a
partial page, a request a rate-limited account pays for): a worker whose
slice is done takes the older half of what remains of the largest running
slice. A slice's lower bound only rises, and a customer below it is left to
the slice that now owns it, so each customer is listed exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import stripe

from .pagination import PAGE_SIZE, ListMethod, pages, raw_lister

DAY = 86400
# Where the oldest object is looked for: 1 day back, 4 days, ... 4**7 days (45 years), all at once.
PROBE_SPANS = [DAY * 4**power for power in range(8)]
# One refining round of 3 points quarters the bracket: the slices need not be even, since they rebalance.
REFINE_CUTS = 4
REFINE_ROUNDS = 1
# A running slice is split for an idle worker only when about this many pages remain in it: a split costs
# a partial page, and a shorter remainder is listed sooner by its own worker than by two.
SPLIT_FROM_PAGES = 3

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
    spaced points, then rounds that cut the bracket. Probes of a round go out
    together, so the cost is a round trip per round, not per probe.
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


@dataclass
class Slice:
    """Customers created in [low, high), listed newest first; `low` rises when an idle worker takes a part."""

    low: int
    high: int
    listed: int = 0
    last: int | None = None  # creation time of the last customer listed: [low, last] remains
    after: str | None = None
    done: bool = False

    def query(self, base: dict[str, Any]) -> dict[str, Any]:
        query = {**base, "created": {"gte": self.low, "lt": self.high}}
        return {**query, "starting_after": self.after} if self.after else query

    def take(self, data: list[Customer], has_more: bool) -> list[Customer]:
        """The page's customers still in the slice; the slice is done at its end or at a bound raised meanwhile.

        A page asked for before a split may reach below the new bound: those customers are the new part's."""
        kept = [customer for customer in data if int(customer["created"]) >= self.low]
        if kept:
            self.listed += len(kept)
            self.last = int(kept[-1]["created"])
        self.after = str(data[-1]["id"]) if data else None
        self.done = not has_more or len(kept) < len(data) or not data
        return kept

    def remaining(self) -> float:
        """Customers left, estimated from the density listed so far (0 before the first page)."""
        if self.last is None or self.done:
            return 0.0
        return self.listed * (self.last - self.low) / max(self.high - self.last, 1)

    def split(self) -> Slice:
        """The older half of what remains, as a new slice; this one stops at its start.

        The cut is above `low` and at most `last`, so the customers of `last`'s second not listed yet stay here."""
        assert self.last is not None and self.last > self.low
        cut = self.low + (self.last + 1 - self.low) // 2
        part = Slice(self.low, cut)
        self.low = cut
        return part


async def partitioned_pages(
    method: ListMethod, base: dict[str, Any], partitions: int
) -> AsyncIterator[list[Customer]]:
    """Pages from concurrent `created` slices, in no particular order.

    The newest page, asked for first to learn where the range ends, is also the newest slice's first page."""
    head = await method(base)
    first = [obj.to_dict() for obj in head.data]
    if not head.has_more or not first:
        yield first
        return
    newest = int(first[0]["created"])
    low = await oldest_bound(method, base, newest)
    parts = [Slice(start, end) for start, end in reversed(slices(low, newest + 1, partitions))]
    first = parts[0].take(first, head.has_more)
    queue: asyncio.Queue[list[Customer] | BaseException | None] = asyncio.Queue(maxsize=partitions * 2)
    waiting = list(reversed(parts))  # popped newest first
    running: list[Slice] = []
    changed = asyncio.Condition()

    async def notify() -> None:
        async with changed:
            changed.notify_all()

    async def next_slice() -> Slice | None:
        """A slice not started, else the older half of the running slice with the most left; None when all ended."""
        while True:
            if waiting:
                return waiting.pop()
            largest = max(running, key=Slice.remaining, default=None)
            if largest is not None and largest.remaining() >= SPLIT_FROM_PAGES * PAGE_SIZE:
                return largest.split()
            if not running:
                return None
            async with changed:
                await changed.wait()

    async def worker() -> None:
        while (part := await next_slice()) is not None:
            running.append(part)
            try:
                while not part.done:
                    page = await method(part.query(base))
                    kept = part.take([obj.to_dict() for obj in page.data], page.has_more)
                    await notify()
                    if kept:
                        await queue.put(kept)
            finally:
                running.remove(part)
            await notify()

    async def produce() -> None:
        try:
            if first:
                await queue.put(first)
            async with asyncio.TaskGroup() as group:
                for _ in range(partitions):
                    group.create_task(worker())
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
