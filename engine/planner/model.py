"""What the planner reads (links, merge bases) and what it returns (operations)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")
DELETED = "__deleted__"


def other(side: Side) -> Side:
    return "right" if side == "left" else "left"


@dataclass(slots=True)  # one per link, 100,000s at once: no per-instance __dict__
class Base:
    """The last synced value of every mapped field, per side (keyed by mapping entry)."""

    left: dict[str, Any] = field(default_factory=dict)
    right: dict[str, Any] = field(default_factory=dict)

    def of(self, side: Side) -> dict[str, Any]:
        return self.left if side == "left" else self.right


@dataclass(slots=True)
class Link:
    left_id: str
    right_id: str
    base: Base = field(default_factory=Base)

    def id_of(self, side: Side) -> str:
        return self.left_id if side == "left" else self.right_id


@dataclass(frozen=True)
class Create:
    """Create a record on `side` from `source_id` on the other side."""

    side: Side
    source_id: str
    fields: Mapping[str, Any]
    base: Base
    key: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Update:
    """Write the changed `fields` of a linked record; `old` holds what they were."""

    side: Side
    record_id: str
    link: Link
    fields: Mapping[str, Any]
    old: Mapping[str, Any]
    base: Base
    key: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkOnly:
    """Save a link and its base without writing (a match found, or sides already equal)."""

    link: Link
    base: Base
    settles: tuple[str, ...] = ()
    new: bool = False


@dataclass(frozen=True)
class Tag:
    """Add or remove a tag; `link` and `base` are saved once the tag is on (a deletion marked as done)."""

    side: Side
    record_id: str
    tag: str
    add: bool
    reason: str
    key: str
    link: Link | None = None
    base: Base | None = None


@dataclass(frozen=True)
class Skip:
    side: Side
    record_id: str
    reason: str


@dataclass(frozen=True)
class Conflict:
    """A field changed on both sides; `winner` is kept, `losing_value` goes into the run's events."""

    left_id: str
    right_id: str
    field: str
    winner: Side
    value: Any
    losing_value: Any
    rule: str


@dataclass(frozen=True)
class Review:
    """A deletion tag held for a person's approval (`deletions: {review: true}`): nothing is written yet."""

    side: Side
    record_id: str
    tag: str
    reason: str
    left_id: str
    right_id: str


Operation = Create | Update | LinkOnly | Tag | Skip | Conflict | Review


@dataclass
class Plan:
    connection: str
    operations: list[Operation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocked: str | None = None
    reviewed_picks: list[tuple[str, str]] = field(default_factory=list)
    """(left id, mapping key) of values picked in the review queue that this plan writes or finds written."""
    reviewed_deletions: list[tuple[str, str]] = field(default_factory=list)
    """(side to tag, record id) of decided deletions this plan applies."""

    def of(self, kind: type[Any]) -> list[Any]:
        return [op for op in self.operations if isinstance(op, kind)]

    def __repr__(self) -> str:
        """Counts, not the operations: a plan holds every record's fields (personal data, and at 100,000 records
        the generated text takes seconds; asyncio's runner writes out the repr of the value a run returns)."""
        blocked = f", blocked={self.blocked!r}" if self.blocked else ""
        return f"Plan({self.connection!r}, {len(self.operations)} operations, {len(self.warnings)} warnings{blocked})"

    def writes(self) -> int:
        return sum(isinstance(op, Create | Update | Tag) for op in self.operations)

    def counts(self) -> dict[str, Any]:
        def per_side(kind: type[Any], predicate: Any = None) -> dict[str, int]:
            ops = [op for op in self.of(kind) if predicate is None or predicate(op)]
            return {side: sum(op.side == side for op in ops) for side in SIDES}

        tagged = per_side(Tag, lambda op: op.add)
        for create in self.of(Create):  # THEN add_tag on a created record: tagged by the executor once it exists
            tagged[create.side] += len(create.tags)
        return {
            "created": per_side(Create),
            "updated": per_side(Update),
            "tagged": tagged,
            "untagged": per_side(Tag, lambda op: not op.add),
            "skipped": len(self.of(Skip)),
            "conflicts": len(self.of(Conflict)),
            "linked": sum(op.new for op in self.of(LinkOnly)),
            "held": len(self.of(Review)),
        }
