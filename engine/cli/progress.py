"""The progress display of `pairsync run`: one line per phase (reading each side, writing into each side), with
the records done, the number planned and the time left once a total is known."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from engine.cli import output
from engine.planner.model import SIDES, Side


class RichPhases:
    """engine.progress.Phases drawn with rich: `reading left (stripe)  340 records`, `writing right  120/400  0:42`."""

    def __init__(self, bar: Progress, connectors: dict[Side, str]) -> None:
        self.bar = bar
        self.reading = {
            side: bar.add_task(f"reading {side} ({connectors[side]})", total=None, unit="records", of="")
            for side in SIDES
        }
        self.writing: dict[Side, TaskID] = {}

    def read(self, side: Side, count: int) -> None:
        self.bar.advance(self.reading[side], count)

    def planned(self, writes: dict[Side, int]) -> None:
        for task in self.reading.values():  # reading is over: show it done at its count
            done = self.bar.tasks[task].completed
            self.bar.update(task, total=done, completed=done, of=_of(done))
        for side in SIDES:
            if writes[side]:
                self.writing[side] = self.bar.add_task(
                    f"writing {side}", total=writes[side], unit="writes", of=_of(writes[side])
                )

    def written(self, side: Side, count: int) -> None:
        if side in self.writing:
            self.bar.advance(self.writing[side], count)


@contextmanager
def phases(connectors: dict[Side, str], enabled: bool) -> Iterator[RichPhases]:
    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(bar_width=20),
        TextColumn("{task.completed:>6.0f}{task.fields[of]} {task.fields[unit]}"),
        TimeRemainingColumn(compact=True),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True, disable=not enabled, console=output.errors) as bar:
        yield RichPhases(bar, connectors)


def _of(total: float | None) -> str:
    return f"/{total:.0f}" if total is not None else ""
