"""Saving a run's records to the record index while its writes still go out.

Once the plan is made, a run mostly waits for the apps' rate limits; saving
the records it read and wrote only after its last write added seconds at
100,000 records to every initial sync. The indexer saves the records read,
then the records written as their batches come back, five hundred at a time
with the event loop left to the writes in between, so that no batch waits
long for its turn. Per side the order is the old one (read, then written in
the order written), so the last state saved is the newest; the runner saves
what is left, and the tags, after the last write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from engine.executor import Outcome
from engine.planner.model import SIDES, Side
from engine.records import Record
from engine.state.store import StateStore

CHUNK = 500
# Between two chunks the event loop is left to the writes for a while: saving is a third of the loop's time
# at most, so a batch's answer never waits long, and 100,000 records still take under a minute of a write
# phase that lasts minutes.
PAUSE_S = 0.1


class Indexer:
    """Saves one run's read and written records, in that order per side."""

    def __init__(
        self, store: StateStore, name: str, fields: Mapping[Side, str], read: Mapping[Side, Sequence[Record]],
        outcome: Outcome,
    ) -> None:
        self.store, self.name, self.fields = store, name, fields
        self.read = read
        self.outcome = outcome
        self.done_read = dict.fromkeys(SIDES, 0)  # records read saved so far, per side
        self.done_written = dict.fromkeys(SIDES, 0)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def finish(self) -> None:
        """After the last write: save whatever the background pass has not, in the same order."""
        await self.stop()
        for side in SIDES:
            self._save_read(side, everything=True)
        for side in SIDES:
            self._save_written(side, everything=True)

    async def stop(self) -> None:
        """Stop the background pass; what it saved stays saved (records seen and written are facts)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        for side in SIDES:
            while self._save_read(side, everything=False):
                await asyncio.sleep(PAUSE_S)
        while True:
            for side in SIDES:
                while self._save_written(side, everything=False):
                    await asyncio.sleep(PAUSE_S)
            await asyncio.sleep(PAUSE_S)

    def _save_read(self, side: Side, everything: bool) -> bool:
        """Save the next chunk of records read (all that is left, with `everything`); False when none was left."""
        return self._next(side, self.read[side], self.done_read, everything, least=1)

    def _save_written(self, side: Side, everything: bool) -> bool:
        """Save the next full chunk of records written (or all, with `everything`); False when there was none."""
        return self._next(side, self.outcome.written[side], self.done_written, everything, least=CHUNK)

    def _next(self, side: Side, records: Sequence[Record], done: dict[Side, int], everything: bool, least: int
              ) -> bool:
        start = done[side]
        left = len(records) - start
        if left < (1 if everything else least):
            return False
        end = len(records) if everything else min(len(records), start + CHUNK)
        self.store.remember(self.name, side, records[start:end], self.fields[side])
        done[side] = end
        return True
