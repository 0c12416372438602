"""Writing while reading: creates sent before the whole plan is made (engine/planner/stream.py decides which).

Both sides are read at once. When one side's read is complete, the other
side's pages go through a `CreateStream` into it as they arrive, and a full
batch of creates is sent at once. When both reads are done, the held creates
whose match key proved unique go out before the whole plan is made; `merge`
puts the sent creates in the plan's place and the executor does the rest.
Each batch is journaled just before it is sent and checks the run lock, as
the executor's own batches do, so a killed run resumes without duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from engine.executor import Executor
from engine.planner.model import SIDES, Create, Plan, Side, other
from engine.planner.plan import plan
from engine.planner.stream import CreateStream, merge
from engine.progress import Phases
from engine.records import Record

if TYPE_CHECKING:
    from engine.runner import Report, Session, SideRead, Stored


class WritesAfterPlan:
    """Phases for a run that may write before its plan is made: writes done early are told once it is."""

    def __init__(self, inner: Phases) -> None:
        self.inner = inner
        self.early: dict[Side, int] | None = {"left": 0, "right": 0}

    def read(self, side: Side, count: int) -> None:
        self.inner.read(side, count)

    def planned(self, writes: dict[Side, int]) -> None:
        self.inner.planned(writes)
        early, self.early = self.early or {}, None
        for side, count in early.items():
            if count:
                self.inner.written(side, count)

    def written(self, side: Side, count: int) -> None:
        if self.early is not None:
            self.early[side] += count
        else:
            self.inner.written(side, count)


class Pipeline:
    """One run's reads, early creates and plan; the runner executes what `plan` leaves."""

    def __init__(
        self, session: Session, executor: Executor, report: Report, force: bool, now: datetime | None, enabled: bool
    ) -> None:
        self.session = session
        self.enabled = enabled
        self.executor = executor
        self.report = report
        self.force, self.now = force, now
        self.streams: dict[Side, CreateStream] = {}
        self.pages: dict[Side, list[list[Record]]] = {"left": [], "right": []}
        self.waiting: dict[Side, list[Create]] = {"left": [], "right": []}
        self.sent: list[Create] = []
        self.tasks: list[asyncio.Task[None]] = []
        concurrency = {side: executor.connectors[side].capabilities.rate_limit.max_concurrency for side in SIDES}
        self.turns = {side: asyncio.Semaphore(max(1, concurrency[side])) for side in SIDES}
        self._stored: Stored | None = None

    def stored(self) -> Stored:
        """The state snapshot every plan input of this run uses: taken before the first write."""
        if self._stored is None:
            self._stored = self.session.stored()
        return self._stored

    # reading ------------------------------------------------------------------

    async def read_both(self, reader: Callable[[Session, Side], Awaitable[SideRead]]) -> dict[Side, SideRead]:
        """Both sides at once; the first side read in full becomes the target of early creates."""
        session = self.session
        tasks = {side: asyncio.create_task(session._guarded(reader, side)) for side in SIDES}
        session.on_page = self._page if self.enabled else None
        try:
            done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
            first = next(side for side in SIDES if tasks[side] in done)
            if self.enabled and tasks[first].exception() is None:
                self._open(first, tasks[first].result())
            return {side: await tasks[side] for side in SIDES}
        finally:
            session.on_page = None
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)

    def _open(self, target: Side, read: SideRead) -> None:
        """`target` is read in full: from now on the other side's pages stream into it."""
        source = other(target)
        if self.stored().links:
            return  # not an initial sync: nothing streams (`opens`), so the source's index is not loaded for it
        unread = type(read)()  # the source as if nothing of it were read yet: no changes, not complete
        data = self.session.plan_input({target: read, source: unread}, self.force, self.now, self.stored())
        self.streams[target] = CreateStream(data, target)
        for page in self.pages[source]:
            self._queue(target, self.streams[target].page(page))
        self.pages = {"left": [], "right": []}

    def _page(self, side: Side, records: list[Record]) -> None:
        stream = self.streams.get(other(side))
        if stream is not None:
            self._queue(stream.target, stream.page(records))
        elif not self.streams:
            self.pages[side].append(records)

    # sending --------------------------------------------------------------------

    def _queue(self, target: Side, ops: list[Create], flush: bool = False) -> None:
        """Full batches go out at once; the last, partial one once nothing more can join it."""
        waiting = self.waiting[target]
        waiting.extend(ops)
        size = max(1, self.executor.connectors[target].capabilities.batch_size)
        while len(waiting) >= size or (flush and waiting):
            batch, waiting[:] = waiting[:size], waiting[size:]
            self._send(target, batch)

    def _send(self, target: Side, batch: list[Create]) -> None:
        self.sent.extend(batch)
        self.report.plan.operations.extend(batch)  # an interrupted run's report shows what went out
        self.report.streamed[target] += len(batch)
        self.tasks.append(asyncio.create_task(self._in_turn(target, batch)))

    async def _in_turn(self, target: Side, batch: list[Create]) -> None:
        """A batch is journaled when its turn to be sent comes, not all batches at once: the first goes out
        without waiting for the others' bookkeeping."""
        async with self.turns[target]:
            await self.executor.send_creates(target, batch)

    # planning -------------------------------------------------------------------

    async def plan(self, reads: dict[Side, SideRead]) -> tuple[Plan, Plan]:
        """The run's plan (what the dry run shows, with the creates sent early in their place) and what is left."""
        for target, stream in self.streams.items():  # first: the held creates go out while the rest is planned
            self._queue(target, stream.finish(reads[other(target)].changes), flush=True)
        data = self.session.plan_input(reads, self.force, self.now, self.stored())
        for target in SIDES if self.enabled else ():
            if target not in self.streams:
                self.streams[target] = CreateStream(data, target)
                self._queue(target, self.streams[target].finish(reads[other(target)].changes), flush=True)
        early = {(target, source_id): sent for target, s in self.streams.items() for source_id, sent in s.sent.items()}
        data = replace(data, early=early)
        # The planner is pure and reads only `data`: in a worker thread it leaves the event loop free to keep
        # the early batches going out while it works (seconds at 100,000 records), instead of holding them.
        whole = await asyncio.to_thread(plan, data)
        return merge(whole, self.sent)

    async def drain(self) -> None:
        """Every early batch finished (a lost run lock raises here, as it would in the executor)."""
        await asyncio.gather(*self.tasks)

    async def close(self) -> None:
        """Batches still in flight when the run stops (an error, a signal) are cancelled and awaited."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
