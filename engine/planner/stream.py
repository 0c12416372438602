"""Creates that can be sent before the whole plan is made, and the whole plan without them. Pure, no I/O.

A run reads both sides, plans once and writes. On an initial sync the writes
are mostly creates into a side that was read long before the other side's
listing ends; waiting for the whole plan leaves that side's request pipeline
idle. `CreateStream` says which creates are certain to be in the whole plan
exactly as they would be made now, so the runner can send them early
(engine/streaming.py); `merge` then takes them out of the whole plan.

A source record is streamed only when nothing unread can change its outcome:
- the connection has no links yet, no side started afresh and no `id_field`
  (so no relink and no breaker can be involved), the target was read in full
  and takes creates from this direction;
- the record is live, carries no origin stamp, no target record carries its
  id as a stamp, no create of it is pending from an earlier run, and it passes
  its side's IF condition as a record with no match;
- it has no match key (nothing else decides it: sent at once), or a key that
  no target record holds and, once the source is read in full, no other
  source record holds (`finish`). A later page could bring a duplicate, so
  keyed records are held until then.
Everything else is left to the whole plan made after all reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from engine.planner.base import PlanInput
from engine.planner.matching import MatchPlanner
from engine.planner.model import Create, Operation, Plan, Side, other
from engine.records import Record, match_key


def opens(data: PlanInput, target: Side) -> bool:
    """Whether creates into `target` may go out before the whole plan (see the module's conditions)."""
    return (
        not data.links
        and not data.afresh
        and data.mapper.id_key is None
        and data.complete[target]
        and data.direction.writes(target)
        and data.modes[target].creates
    )


@dataclass
class CreateStream:
    """Creates into `target` decided page by page; `data` holds the target's whole read (and no source changes)."""

    data: PlanInput
    target: Side
    open: bool = field(init=False)
    held: dict[str, tuple[str, Create, Record]] = field(init=False, default_factory=dict)
    sent: dict[str, tuple[Record, Create]] = field(init=False, default_factory=dict)
    """The creates let out so far, by source id, with the record each was made from (`PlanInput.early`)."""

    def __post_init__(self) -> None:
        self.source = other(self.target)
        self.open = opens(self.data, self.target)
        records = {**self.data.index[self.target], **self.data.changes[self.target]}.values()
        self.target_keys = {key for r in records if (key := self._key(self.target, r)) is not None}
        stamp = self.data.origin_fields.get(self.target)
        self.stamped = {str(r.get(stamp)) for r in records if stamp and r.get(stamp)}

    def page(self, records: Iterable[Record]) -> list[Create]:
        """The creates to send now (records without a match key); keyed ones are held until `finish`."""
        if not self.open:
            return []
        now: list[Create] = []
        for op, record in self._creates([r for r in records if self._candidate(r)]):
            key = self._key(self.source, record)
            if key is None:
                now.append(op)
                self.sent[record.id] = (record, op)
            else:
                self.held[record.id] = (key, op, record)
        return now

    def finish(self, source: Mapping[str, Record]) -> list[Create]:
        """Once the source is read in full: the held creates whose key no other source record has, and the
        creates of records no page brought (a reader without pages, retried records)."""
        if not self.open:
            return []
        now = self.page(r for r in source.values() if r.id not in self.held and r.id not in self.sent)
        everyone = {**self.data.index[self.source], **source}.values()
        counts = Counter(self._key(self.source, r) for r in everyone)
        for record_id, (key, op, record) in self.held.items():
            if counts[key] == 1 and source.get(record_id) == record:
                now.append(op)
                self.sent[record_id] = (record, op)
        self.held.clear()
        return now

    def _key(self, side: Side, record: Record) -> str | None:
        return match_key(record.get(self.data.match_fields[side]))

    def _candidate(self, record: Record) -> bool:
        stamp = self.data.origin_fields.get(self.source)
        key = self._key(self.source, record)
        return not (
            record.deleted
            or record.id in self.sent
            or record.id in self.held
            or (stamp and record.get(stamp))
            or record.id in self.stamped
            or (self.target, "create", record.id) in self.data.pending
            or (key is not None and key in self.target_keys)
        )

    def _creates(self, records: list[Record]) -> list[tuple[Create, Record]]:
        """The planner's own creates for unmatched records (fields, stamp, THEN actions); a record it skips
        is left to the whole plan, which skips it the same way."""
        if not records:
            return []
        by_id = {r.id: r for r in records}
        changes = {self.source: by_id, self.target: self.data.changes[self.target]}
        planner = MatchPlanner(replace(self.data, changes=changes))
        return [(op, by_id[op.source_id]) for op in planner.creates_for_unmatched(self.source, records)]


def merge(whole: Plan, streamed: Sequence[Create]) -> tuple[Plan, Plan]:
    """The run's plan (the whole plan, with the creates already sent in their place) and what is left to do."""
    sent = {(op.side, op.source_id): op for op in streamed}
    kept: list[Operation] = []
    left: list[Operation] = []
    warnings = list(whole.warnings)
    for op in whole.operations:
        ours = sent.pop((op.side, op.source_id), None) if isinstance(op, Create) else None
        if isinstance(op, Create) and ours is not None:
            kept.append(ours)
            if (op.fields, op.base, op.tags) != (ours.fields, ours.base, ours.tags):
                warnings.append(f"{op.side}: the create from {op.source_id} was sent as the record first read")
            continue
        kept.append(op)
        left.append(op)
    for op in sent.values():  # sent, yet not in the whole plan: the record changed or vanished meanwhile
        kept.append(op)
        warnings.append(f"{op.side}: the create from {op.source_id} was sent before the record changed")
    return replace(whole, operations=kept, warnings=warnings), replace(whole, operations=left, warnings=[])
