"""When a benchmarked run read and wrote: seconds from its start, taken from the engine's own progress hooks.

The physical bound lets writes begin once the target is read and the source's
first page is in; these figures say where the run actually began writing
against where its source read ended, so a ratio can be read on a shared
machine (seconds stretch with the load, their order does not).
"""

from __future__ import annotations

import time
from typing import Any

from engine.planner.model import Side


class Timeline:
    """Phases (engine/progress.py) plus the executor's progress callback, noting times; pass both to a run."""

    def __init__(self, source: Side = "left") -> None:
        self.source = source
        self.start = time.perf_counter()
        self.marks: dict[str, float] = {}

    def _mark(self, name: str, first: bool) -> None:
        if not first or name not in self.marks:
            self.marks[name] = time.perf_counter() - self.start

    def read(self, side: Side, count: int) -> None:
        self._mark("source_read_end_s" if side == self.source else "target_read_end_s", first=False)

    def planned(self, writes: dict[Side, int]) -> None:
        self._mark("planned_s", first=True)

    def written(self, side: Side, count: int) -> None:
        pass  # held until the plan is made (engine/streaming.py): the progress callback is told at once

    def progress(self, count: int) -> None:
        self._mark("first_write_done_s", first=True)
        self._mark("last_write_done_s", first=False)

    def figures(self, seconds: float) -> dict[str, Any]:
        """The marks, rounded, and whether the first write finished before the source read ended."""
        marks = {name: round(value, 2) for name, value in sorted(self.marks.items(), key=lambda kv: kv[1])}
        first, read_end = self.marks.get("first_write_done_s"), self.marks.get("source_read_end_s")
        marks["wrote_before_source_read_end"] = first is not None and read_end is not None and first < read_end
        marks["after_last_write_s"] = round(seconds - self.marks.get("last_write_done_s", seconds), 2)
        return marks
