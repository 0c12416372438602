"""What every part of the planner shares: its input, the links by id, the records claimed so far, the plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from engine.conditions import BUILTIN_OPS, Op
from engine.config.models import Action, Breaker, Deletions, Direction, Mode, TagSignal
from engine.mapping import Mapper
from engine.planner.model import (
    Create,
    Link,
    Operation,
    Plan,
    Side,
)
from engine.records import Record

Filter = Callable[[Record, bool, datetime], str | None]
"""Why a record is left out (None: it takes part), given whether it exists on the other side and the run's clock."""
EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class PlanInput:
    """Everything one plan reads. `now` is the run's clock (an input, so the planner stays pure);
    `clocked` says an IF condition compares with it, so links are checked again each run. Actions with
    `if` may come in `actions`: the planner moves them to `conditional`."""

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
    origin_fields: Mapping[Side, str | None] = field(default_factory=lambda: {"left": None, "right": None})
    afresh: frozenset[Side] = frozenset()  # sides whose account changed: stamps naming their records are stale
    create_without_key: bool = False
    feed: Mapping[Side, bool] = field(default_factory=lambda: {"left": True, "right": True})
    complete: Mapping[Side, bool] = field(default_factory=lambda: {"left": False, "right": False})
    filters: Mapping[Side, Filter] = field(default_factory=dict)
    actions: Mapping[Side, list[Action]] = field(default_factory=dict)
    conditional: Mapping[Side, list[Action]] = field(default_factory=dict)
    condition_ops: Mapping[str, Op] = field(default_factory=lambda: dict(BUILTIN_OPS))
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    clocked: bool = False
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
    early: Mapping[tuple[Side, str], tuple[Record, Create]] = field(default_factory=dict)
    """Creates sent before this plan was made (engine/planner/stream.py), by (target, source id), with the record
    each was made from: a create is decided by its record and the connection alone, so where the plan creates
    from that same record it takes the create as sent instead of mapping the record again."""


class PlannerBase:
    """The planner's state during one `plan()` call; the parts built on it add behaviour, never I/O."""

    def __init__(self, data: PlanInput) -> None:
        self.d = _split_actions(data)
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
        return check(record, exists, self.d.now) if check else None


def _split_actions(data: PlanInput) -> PlanInput:
    """Actions with `if` apart from the others: only the others go with every create and update."""
    sides: tuple[Side, Side] = ("left", "right")
    actions = {side: list(data.actions.get(side, [])) for side in sides}
    conditional = {side: [*data.conditional.get(side, []), *(a for a in actions[side] if a.if_)] for side in sides}
    plain = {side: [a for a in actions[side] if a.if_ is None] for side in sides}
    return replace(data, actions=plain, conditional=conditional)
