"""The planner: pure, no I/O. From what each side holds, the links and the merge base, it returns operations.

Shape after vdirsyncer's `_get_actions`: every record is compared with its
stored base, never with a clock, so a run right after a run plans nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.config.models import Action, Breaker, Direction, Mode, TagSignal
from engine.mapping import Mapper
from engine.planner.model import (
    DELETED,
    SIDES,
    Base,
    Conflict,
    Create,
    Link,
    LinkOnly,
    Operation,
    Plan,
    Side,
    Skip,
    Tag,
    Update,
    other,
)
from engine.records import Record, match_key

Filter = Callable[[Record, bool], str | None]
_EPOCH = datetime.min.replace(tzinfo=UTC)


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
    deletions: TagSignal | None = None
    unsubscribes: TagSignal | None = None
    tags_supported: Mapping[Side, bool] = field(default_factory=lambda: {"left": True, "right": True})
    pending: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    breaker: Breaker = field(default_factory=Breaker)
    force: bool = False
    new_key: Callable[[], str] = lambda: "key"


def plan(data: PlanInput) -> Plan:
    return _Planner(data).run()


class _Planner:
    def __init__(self, data: PlanInput) -> None:
        self.d = data
        self.plan = Plan(connection=data.connection)
        self.by_id: dict[Side, dict[str, Link]] = {
            "left": {link.left_id: link for link in data.links},
            "right": {link.right_id: link for link in data.links},
        }
        self.claimed: dict[Side, set[str]] = {"left": set(), "right": set()}

    def run(self) -> Plan:
        touched: dict[int, Link] = {}
        unlinked: dict[Side, list[Record]] = {"left": [], "right": []}
        for side in SIDES:
            for record in self.d.changes[side].values():
                link = self.by_id[side].get(record.id)
                if link is not None:
                    touched[id(link)] = link
                elif not record.deleted:
                    unlinked[side].append(record)
        for link in [*self._vanished(), *self._ids_to_write()]:
            touched[id(link)] = link
        for link in touched.values():
            self._linked(link)
        self._match_and_create(unlinked)
        self._breaker()
        return self.plan

    def emit(self, op: Operation) -> None:
        self.plan.operations.append(op)

    # linked records ---------------------------------------------------------

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

    def _current(self, side: Side, record_id: str) -> Record | None:
        """A record as this run sees it: after a complete listing only the listing counts."""
        if self.d.complete[side]:
            return self.d.changes[side].get(record_id)
        return self.d.changes[side].get(record_id) or self.d.index[side].get(record_id)

    def _linked(self, link: Link) -> None:
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
        if rule is not None and rule.enabled and self._tag_allowed(target, link.id_of(target), reason):
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

    def _merge(self, link: Link, left: Record, right: Record, settles: tuple[str, ...] = (), new: bool = False) -> None:
        values = {"left": self.d.mapper.project("left", left), "right": self.d.mapper.project("right", right)}
        sources = {
            "left": self._filter("left", left, True) is None,
            "right": self._filter("right", right, True) is None,
        }
        pair: dict[Side, Record] = {"left": left, "right": right}
        for side, record in pair.items():
            reason = None if sources[side] else self._filter(side, record, True)
            if reason is not None and record.id in self.d.changes[side]:
                self.emit(Skip(side, record.id, f"{reason}; its changes are not synced"))
        base = Base(dict(link.base.left), dict(link.base.right))
        writes: dict[Side, dict[str, Any]] = {"left": {}, "right": {}}
        for key in self.d.mapper.by_key:
            self._merge_key(link, key, values, base, writes, sources, {"left": left, "right": right})
        self._emit_merge(link, base, writes, {"left": left, "right": right}, settles, new)

    def _merge_key(
        self,
        link: Link,
        key: str,
        values: dict[str, dict[str, Any]],
        base: Base,
        writes: dict[Side, dict[str, Any]],
        sources: dict[str, bool],
        records: dict[str, Record],
    ) -> None:
        lv, rv = values["left"][key], values["right"][key]
        if lv == rv:
            base.left[key] = base.right[key] = lv
            return
        changed = {"left": lv != link.base.left.get(key, None), "right": rv != link.base.right.get(key, None)}
        new_link = not link.base.left and not link.base.right
        can = {side: self.d.mapper.can_write(key, side, self.d.direction) and sources[other(side)] for side in SIDES}
        winner = self._winner(key, lv, rv, changed, can, new_link, link, records)
        if winner is None:
            base.left[key], base.right[key] = lv, rv
            return
        target = other(winner)
        value = lv if winner == "left" else rv
        writes[target][key] = value
        base.left[key] = base.right[key] = value

    def _winner(
        self,
        key: str,
        lv: Any,
        rv: Any,
        changed: dict[str, bool],
        can: dict[Side, bool],
        new_link: bool,
        link: Link,
        records: dict[str, Record],
    ) -> Side | None:
        """Which side's value flows across for one differing field, or None to leave both."""
        if key == self.d.mapper.id_key:  # bookkeeping, not data: the right id always flows into id_field
            return "right" if self.d.mapper.can_write(key, "left", self.d.direction) else None
        if new_link:
            if lv is None and can["left"]:
                return "right"
            if rv is None and can["right"]:
                return "left"
        elif changed["left"] != changed["right"]:
            source: Side = "left" if changed["left"] else "right"
            return source if can[other(source)] else None
        elif not changed["left"]:
            return None  # neither side changed: a settled difference (a one-way field, a failed-then-fixed value)
        if not (can["left"] or can["right"]):
            return None
        if not can["left"]:
            choice: Side = "left"
        elif not can["right"]:
            choice = "right"
        else:
            choice = self._policy(records)
        loser = rv if choice == "left" else lv
        self.emit(
            Conflict(link.left_id, link.right_id, key, choice, lv if choice == "left" else rv, loser, self._rule_text())
        )
        return choice

    def _policy(self, records: dict[str, Record]) -> Side:
        if self.d.conflict in ("left", "right"):
            return "left" if self.d.conflict == "left" else "right"
        left_time = records["left"].updated or _EPOCH
        right_time = records["right"].updated or _EPOCH
        return "right" if right_time > left_time else "left"

    def _rule_text(self) -> str:
        if self.d.direction is not Direction.TWO_WAY:
            return f"direction {self.d.direction.value}"
        return "newest change wins" if self.d.conflict == "newest" else f"{self.d.conflict} side wins"

    def _emit_merge(
        self,
        link: Link,
        base: Base,
        writes: dict[Side, dict[str, Any]],
        records: dict[Side, Record],
        settles: tuple[str, ...],
        new: bool,
    ) -> None:
        for side in SIDES:
            if not writes[side]:
                continue
            if not self.d.modes[side].updates:
                self.emit(
                    Skip(side, link.id_of(side), f"mode {self.d.modes[side].value}: not updating the {side} side")
                )
                for key in writes[side]:
                    base.left[key], base.right[key] = link.base.left.get(key), link.base.right.get(key)
                continue
            record = records[side]
            fields = self.d.mapper.render(side, writes[side], record)
            fields.update(self._set_fields(side))
            fields = {k: v for k, v in fields.items() if record.get(k) != v}
            if fields:
                old = {name: record.get(name) for name in fields}
                self.emit(Update(side, record.id, link, fields, old, base, self.d.new_key(), tuple(writes[side])))
                self._action_tags(side, record.id, record)
        if new or base.left != link.base.left or base.right != link.base.right:
            self.emit(LinkOnly(link, base, settles=settles, new=new))

    # unlinked records -------------------------------------------------------

    def _filter(self, side: Side, record: Record, exists: bool) -> str | None:
        check = self.d.filters.get(side)
        return check(record, exists) if check else None

    def _match_and_create(self, unlinked: dict[Side, list[Record]]) -> None:
        self._relink_by_id(unlinked)
        candidates = {side: self._unlinked_index(side) for side in SIDES}
        for side in SIDES:
            groups: dict[str | None, list[Record]] = defaultdict(list)
            for record in unlinked[side]:
                if record.id in self.claimed[side]:
                    continue
                groups[match_key(record.get(self.d.match_fields[side]))].append(record)
            for key, records in groups.items():
                for record in self._dedupe(side, key, records, candidates[side]):
                    if record.id not in self.claimed[side]:
                        self._place(side, record, key, candidates[other(side)])

    def _relink_by_id(self, unlinked: dict[Side, list[Record]]) -> None:
        """Links rebuilt from `id_field` (the right id kept on the left record) before matching by email,
        so links survive a lost state store."""
        entry = self.d.mapper.by_key.get(self.d.mapper.id_key or "")
        if entry is None:
            return
        lefts = {r.id: r for r in {**self.d.index["left"], **self.d.changes["left"]}.values() if not r.deleted}
        rights = {r.id: r for r in {**self.d.index["right"], **self.d.changes["right"]}.values() if not r.deleted}
        pairs = {(r.id, str(r.get(entry.left[0]))) for r in unlinked["left"]}
        wanted = {r.id for r in unlinked["right"]}
        pairs |= {(r.id, str(r.get(entry.left[0]))) for r in lefts.values() if r.get(entry.left[0]) in wanted}
        for left_id, right_id in sorted(pairs):
            if left_id in lefts and right_id in rights and self._free(left_id, right_id):
                self._link("left", lefts[left_id], rights[right_id])

    def _free(self, left_id: str, right_id: str) -> bool:
        return not (
            left_id in self.by_id["left"]
            or right_id in self.by_id["right"]
            or left_id in self.claimed["left"]
            or right_id in self.claimed["right"]
        )

    def _unlinked_index(self, side: Side) -> dict[str, list[Record]]:
        index: dict[str, list[Record]] = defaultdict(list)
        merged = {**self.d.index[side], **self.d.changes[side]}
        for record in merged.values():
            if record.id in self.by_id[side] or record.id in self.claimed[side] or record.deleted:
                continue
            key = match_key(record.get(self.d.match_fields[side]))
            if key is not None:
                index[key].append(record)
        return index

    def _dedupe(self, side: Side, key: str | None, records: list[Record], own: dict[str, list[Record]]) -> list[Record]:
        """The records of one match key that may take part: all of them unless several share it."""
        everyone = own.get(key, []) if key is not None else []
        if len(everyone) <= 1:
            return records
        if self.d.on_duplicate == "link_oldest":
            oldest = _oldest(everyone)
            return [oldest] if oldest.id in {r.id for r in records} else []
        ids = ", ".join(sorted(r.id for r in everyone))
        field = self.d.match_fields[side]
        for record in records:
            reason = f"{len(everyone)} {side} records share {field} {key!r} ({ids}); on_duplicate: skip"
            self.emit(Skip(side, record.id, reason))
        return []

    def _place(self, side: Side, record: Record, key: str | None, candidates: dict[str, list[Record]]) -> None:
        target = other(side)
        found = [c for c in candidates.get(key, []) if c.id not in self.claimed[target]] if key else []
        reason = self._filter(side, record, bool(found))
        if reason is not None:
            self.emit(Skip(side, record.id, reason))
            return
        if len(found) > 1 and self.d.on_duplicate != "link_oldest":
            ids = ", ".join(sorted(c.id for c in found))
            self.emit(Skip(side, record.id, f"{len(found)} {target} records match {key!r} ({ids}); on_duplicate: skip"))
            return
        if found:
            self._link(side, record, _oldest(found))
        else:
            self._create(side, record)

    def _link(self, side: Side, record: Record, match: Record) -> None:
        target = other(side)
        self.claimed[side].add(record.id)
        self.claimed[target].add(match.id)
        left, right = (record, match) if side == "left" else (match, record)
        settles = tuple(
            k for (s, kind, src), k in self.d.pending.items() if kind == "create" and s == target and src == record.id
        )
        self._merge(Link(left.id, right.id), left, right, settles=settles, new=True)

    def _create(self, side: Side, record: Record) -> None:
        target = other(side)
        if not self.d.direction.writes(target):
            return
        if not self.d.modes[target].creates:
            self.emit(Skip(side, record.id, f"no match on the {target} side and mode {self.d.modes[target].value}"))
            return
        values = self.d.mapper.project(side, record)
        writable = {
            k: v for k, v in values.items() if v is not None and self.d.mapper.can_write(k, target, self.d.direction)
        }
        fields = self.d.mapper.render(target, writable, None)
        fields.update(self._set_fields(target))
        key = self.d.pending.get((target, "create", record.id)) or self.d.new_key()
        base = Base(left=dict(values) if side == "left" else {}, right=dict(values) if side == "right" else {})
        tags = tuple(a.add_tag for a in self.d.actions.get(target, []) if a.add_tag)
        rule = self.d.unsubscribes
        if record.unsubscribed and rule is not None and rule.enabled and self.d.tags_supported[target]:
            tags += (rule.tag,)  # created already tagged, or the run after would tag it (a run after a run)
        self.claimed[side].add(record.id)
        self.emit(Create(target, record.id, fields, base, key, tags))

    # THEN actions -----------------------------------------------------------

    def _set_fields(self, side: Side) -> dict[str, Any]:
        return {a.set_field: a.value for a in self.d.actions.get(side, []) if a.set_field}

    def _action_tags(self, side: Side, record_id: str, record: Record) -> None:
        for action in self.d.actions.get(side, []):
            if action.add_tag and action.add_tag not in record.tags:
                self.emit(Tag(side, record_id, action.add_tag, True, "THEN add_tag", self.d.new_key()))
            if action.remove_tag and action.remove_tag in record.tags:
                self.emit(Tag(side, record_id, action.remove_tag, False, "THEN remove_tag", self.d.new_key()))

    # the mass-change breaker ------------------------------------------------

    def _breaker(self) -> None:
        if self.d.force or not self.d.links:
            return
        for side in SIDES:
            if self.d.complete[side] and not self.d.changes[side]:
                self.plan.blocked = (
                    f"the {side} side came back empty while {len(self.d.links)} records are linked; "
                    "nothing was written. If that is right, run again with --force"
                )
                return
        affected = {
            op.record_id
            for op in self.plan.operations
            if isinstance(op, Update | Tag) and self._was_linked(op.side, op.record_id) and not self._id_only(op)
        }
        share = len(affected) / len(self.d.links)
        if len(affected) > self.d.breaker.min_records and share > self.d.breaker.max_share:
            self.plan.blocked = (
                f"this run would change {len(affected)} of {len(self.d.links)} linked records "
                f"({share:.0%}, above the {self.d.breaker.max_share:.0%} breaker); nothing was "
                "written. Check the plan with `pairsync plan`, then run again with --force"
            )

    def _id_only(self, op: Update | Tag) -> bool:
        """An update that only writes `id_field`: bookkeeping the breaker does not count."""
        return isinstance(op, Update) and self.d.mapper.id_key is not None and op.keys == (self.d.mapper.id_key,)

    def _was_linked(self, side: Side, record_id: str) -> bool:
        return record_id in self.by_id[side]


def _oldest(records: list[Record]) -> Record:
    def age(record: Record) -> tuple[str, str]:
        created = record.get("created") or (record.updated.isoformat() if record.updated else "")
        return (str(created), record.id)

    return min(records, key=age)
