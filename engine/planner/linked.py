"""Linked records: deletions, unsubscribes, `id_field` bookkeeping, then the merge."""

from __future__ import annotations

from collections.abc import Iterable

from engine.planner.merge import MergePlanner
from engine.planner.model import (
    DELETED,
    SIDES,
    Base,
    Link,
    LinkOnly,
    Review,
    Side,
    Skip,
    Tag,
    other,
)
from engine.records import Record


class LinkedPlanner(MergePlanner):
    def _vanished(self) -> Iterable[Link]:
        """Links whose record is missing from a complete listing of its side: a deletion."""
        for side in SIDES:
            if not self.d.complete[side]:
                continue
            present = self.d.changes[side]
            for link in self.d.links:
                if link.id_of(side) not in present and not link.base.of(side).get(DELETED):
                    yield link

    def _ids_to_write(self) -> Iterable[Link]:
        """Links whose left record does not hold the right id in `id_field` yet (made by a create last run)."""
        entry = self.d.mapper.by_key.get(self.d.mapper.id_key or "")
        if entry is None:
            return
        for link in self.d.links:
            left = self._current("left", link.left_id)
            if left is not None and not left.deleted and left.get(entry.left[0]) != link.right_id:
                yield link

    def _reviewed(self) -> Iterable[Link]:
        """Links a person acted on in the review queue: a picked conflict value, a decided deletion."""
        if not self.d.picks and not self.d.decisions:
            return
        lefts = {left for left, _key in self.d.picks}
        for link in self.d.links:
            if link.left_id in lefts or self._decided(link) is not None:
                yield link

    def _decided(self, link: Link) -> Side | None:
        """The deleted side of a link whose deletion was decided in review (its other record gets the tag)."""
        for target in SIDES:
            if (target, link.id_of(target)) in self.d.decisions:
                return other(target)
        return None

    def _linked(self, link: Link) -> None:
        decided = self._decided(link) if self.d.decisions else None
        if decided is not None and not any(link.base.of(side).get(DELETED) for side in SIDES):
            self._deleted(link, decided)  # the record may be back to live in an incomplete listing's index
            return
        records = {side: self._current(side, link.id_of(side)) for side in SIDES}
        for side in SIDES:
            if link.base.of(side).get(DELETED):
                return  # handled in an earlier run
            record = records[side]
            gone = record is None or record.deleted
            if (gone and self.d.complete[side]) or (record is not None and record.deleted):
                self._deleted(link, side)
                return
        left, right = records["left"], records["right"]
        if left is None or right is None:
            return  # not seen yet on an incomplete listing: nothing to compare with
        self._unsubscribes(link, {"left": left, "right": right})
        self._merge(link, left, right)

    def _deleted(self, link: Link, side: Side) -> None:
        """Tag the other side's record (never delete it) and mark the link so it is done once."""
        target = other(side)
        base = Base(dict(link.base.left), dict(link.base.right))
        base.of(side)[DELETED] = True
        rule = self.d.deletions
        reason = f"{side} record {link.id_of(side)} was deleted"
        decision = self.d.decisions.get((target, link.id_of(target)))
        if decision is not None:
            self.plan.reviewed_deletions.append((target, link.id_of(target)))
        if rule is not None and rule.enabled and self._tag_allowed(target, link.id_of(target), reason):
            if rule.review and decision is None:
                self.emit(Review(target, link.id_of(target), rule.tag, reason, link.left_id, link.right_id))
                return
            if decision != "dismissed":
                self.emit(Tag(target, link.id_of(target), rule.tag, True, reason, self.d.new_key(), link, base))
                return
        self.emit(LinkOnly(link, base))

    def _unsubscribes(self, link: Link, records: dict[Side, Record]) -> None:
        rule = self.d.unsubscribes
        if rule is None or not rule.enabled:
            return
        for side in SIDES:
            target = other(side)
            record = records[side]
            if record.unsubscribed and rule.tag not in records[target].tags:
                reason = f"{side} record {record.id} unsubscribed"
                if self._tag_allowed(target, link.id_of(target), reason):
                    self.emit(Tag(target, link.id_of(target), rule.tag, True, reason, self.d.new_key()))

    def _tag_allowed(self, side: Side, record_id: str, reason: str) -> bool:
        if not self.d.tags_supported[side]:
            self.emit(Skip(side, record_id, f"{reason}, but the {side} app cannot take tags"))
            return False
        if not self.d.direction.writes(side):
            self.emit(Skip(side, record_id, f"{reason}; the connection does not write into the {side} side"))
            return False
        return True
