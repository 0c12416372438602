"""What every part of the planner shares: its input, the links by id, the records claimed so far, the plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.config.models import Action, Breaker, Deletions, Direction, Mode, TagSignal
from engine.mapping import Mapper
from engine.planner.model import (
    Link,
    Operation,
    Plan,
    Side,
)
from engine.records import Record

Filter = Callable[[Record, bool], str | None]
EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class PlanInput:
    connection: str
    mapper: Mapper
    changes: Mapping[Side, Mapping[str, Record]]
    index: Mapping[Side, Mapping[str, Record]]
    links: list[Link]
    direction: Direction = Direction.TWO_WAY
    conflict: str = "newest"
    modes: Mapping[Side, Mode] = field(
        default_factory=lambda: {"left": Mode.CREATE_AND_UPDATE, "right": Mode.CREATE_AND_UPDATE}
    )
    match_fields: Mapping[Side, str] = field(default_factory=lambda: {"left": "email", "right": "email"})
    on_duplicate: str = "skip"
    complete: Mapping[Side, bool] = field(default_factory=lambda: {"left": False, "right": False})
    filters: Mapping[Side, Filter] = field(default_factory=dict)
    actions: Mapping[Side, list[Action]] = field(default_factory=dict)
    deletions: Deletions | None = None
    unsubscribes: TagSignal | None = None
    tags_supported: Mapping[Side, bool] = field(default_factory=lambda: {"left": True, "right": True})
    pending: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    breaker: Breaker = field(default_factory=Breaker)
    force: bool = False
    new_key: Callable[[], str] = lambda: "key"
    picks: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    """Values picked in the review queue, by (left id, mapping key): written to both sides."""
    decisions: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """Reviewed deletions by (side to tag, record id): "approved" or "dismissed"."""


class PlannerBase:
    """The planner's state during one `plan()` call; the parts built on it add behaviour, never I/O."""

    def __init__(self, data: PlanInput) -> None:
        self.d = data
        self.plan = Plan(connection=data.connection)
        self.by_id: dict[Side, dict[str, Link]] = {
            "left": {link.left_id: link for link in data.links},
            "right": {link.right_id: link for link in data.links},
        }
        self.claimed: dict[Side, set[str]] = {"left": set(), "right": set()}

    def emit(self, op: Operation) -> None:
        self.plan.operations.append(op)

    def _current(self, side: Side, record_id: str) -> Record | None:
        """A record as this run sees it: after a complete listing only the listing counts."""
        if self.d.complete[side]:
            return self.d.changes[side].get(record_id)
        return self.d.changes[side].get(record_id) or self.d.index[side].get(record_id)

    def _filter(self, side: Side, record: Record, exists: bool) -> str | None:
        check = self.d.filters.get(side)
        return check(record, exists) if check else None
