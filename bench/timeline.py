"""When a benchmarked run read and wrote: seconds from its start, taken from the engine's own progress hooks.

The physical bound lets writes begin once the target is read and the source's
first page is in; these figures say where the run actually began writing
against where its source read ended, so a ratio can be read on a shared
machine (seconds stretch with the load, their order does not).

Two more figures say why the writes may fall behind their allowed rate: the
time between one finished write batch and the next (a target that allows one
batch at a time cannot make up a late one), and the pauses of Python's cyclic
garbage collector while the run went on. The collector stops the whole
process, engine and in-process sandboxes alike, and a full collection scans
every live object, so its pauses grow with the records held in memory.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from engine.planner.model import Side


class Timeline:
    """Phases (engine/progress.py) plus the executor's progress callback, noting times; pass both to a run.

    It watches the collector from its creation until `figures` is called."""

    def __init__(self, source: Side = "left") -> None:
        self.source = source
        self.start = time.perf_counter()
        self.marks: dict[str, float] = {}
        self.writes: list[float] = []
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._collecting: float | None = None
        gc.callbacks.append(self._collector)

    def _collector(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
        elif self._collecting is not None:
            self.pauses[int(info["generation"])].append(time.perf_counter() - self._collecting)
            self._collecting = None

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
        self.writes.append(time.perf_counter() - self.start)

    def figures(self, seconds: float) -> dict[str, Any]:
        """The marks, rounded, whether the first write finished before the source read ended, the spacing of
        the write batches and the collector's pauses."""
        if self._collector in gc.callbacks:
            gc.callbacks.remove(self._collector)
        marks: dict[str, Any] = {
            name: round(value, 2) for name, value in sorted(self.marks.items(), key=lambda kv: kv[1])
        }
        first, read_end = self.marks.get("first_write_done_s"), self.marks.get("source_read_end_s")
        marks["wrote_before_source_read_end"] = first is not None and read_end is not None and first < read_end
        marks["after_last_write_s"] = round(seconds - self.marks.get("last_write_done_s", seconds), 2)
        gaps = [later - earlier for earlier, later in zip(self.writes, self.writes[1:], strict=False)]
        if gaps:
            marks["write_batches"] = len(self.writes)
            marks["write_interval_mean_s"] = round(statistics.fmean(gaps), 4)
            marks["write_interval_max_s"] = round(max(gaps), 3)
            usual = statistics.median(gaps)
            late = sorted(((gap, at) for gap, at in zip(gaps, self.writes[1:], strict=False) if gap > 1.5 * usual),
                          reverse=True)
            marks["write_late_gaps"] = [[round(at, 2), round(gap, 3)] for gap, at in late[:8]]  # [ended at, gap]
        full = self.pauses[2]
        marks["gc_pause_s"] = round(sum(sum(p) for p in self.pauses.values()), 2)
        marks["gc_full_collections"] = len(full)
        marks["gc_full_pause_max_s"] = round(max(full, default=0.0), 3)
        return marks
