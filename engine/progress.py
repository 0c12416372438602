"""What a run reports while it goes, phase by phase: records read from each side, then writes into each side
against the number planned. The CLI draws it (engine/cli/progress.py); the engine only calls it."""

from __future__ import annotations

from typing import Protocol

from engine.planner.model import Side


class Phases(Protocol):
    def read(self, side: Side, count: int) -> None:
        """`count` more records read from `side` (the total is unknown until the listing ends)."""

    def planned(self, writes: dict[Side, int]) -> None:
        """The plan is made: this many writes (creates, updates, tags) go into each side."""

    def written(self, side: Side, count: int) -> None:
        """`count` more writes into `side` are done (or failed: either way they are finished)."""


class NoPhases:
    def read(self, side: Side, count: int) -> None:
        pass

    def planned(self, writes: dict[Side, int]) -> None:
        pass

    def written(self, side: Side, count: int) -> None:
        pass
