"""Unlinked records: relinked by origin stamp or `id_field`, matched by key, or created on the other side."""

from __future__ import annotations

from collections import defaultdict

from engine.planner.linked import LinkedPlanner
from engine.planner.model import (
    SIDES,
    Base,
    Create,
    Link,
    Side,
    Skip,
    other,
)
from engine.records import Record, match_key


class MatchPlanner(LinkedPlanner):
    def creates_for_unmatched(self, side: Side, records: list[Record]) -> list[Create]:
        """The creates this planner makes for `records` of `side` known to match nothing on the other side:
        the side's IF condition, the fields, the origin stamp and the THEN actions, exactly as a whole plan
        would (engine/planner/stream.py sends them before the whole plan is made)."""
        for record in records:
            if self._filter(side, record, False) is None:
                self._create(side, record)
        self._conditional_creates()
        return self.plan.of(Create)

    def _match_and_create(self, unlinked: dict[Side, list[Record]]) -> None:
        self._relink_by_origin()
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

    def _relink_by_origin(self) -> None:
        """Records pairsync created carry their source's id (the origin stamp): each is linked back to its
        source, so a create whose answer was lost, a killed run or a lost state store never makes a second
        copy, with or without a match value. A further copy of an already linked source is never copied back."""
        live = {side: self._live(side) for side in SIDES}
        for target in SIDES:
            stamp = self.d.origin_fields.get(target)
            source = other(target)
            if not stamp or source in self.d.afresh:
                continue  # a side started afresh: the stamps name records of its old account, not of this one
            copies = [r for r in live[target].values() if r.get(stamp) and r.id not in self.by_id[target]]
            for copy in sorted(copies, key=_age):
                origin = live[source].get(str(copy.get(stamp)))
                if origin is None or copy.id in self.claimed[target]:
                    continue
                ids = (origin.id, copy.id) if source == "left" else (copy.id, origin.id)
                if self._free(*ids):
                    self._link(source, origin, copy)
                    continue
                self.claimed[target].add(copy.id)
                if copy.id in self.d.changes[target]:
                    reason = f"a copy pairsync made of {source} record {origin.id}, which is linked to another record"
                    self.emit(Skip(target, copy.id, f"{reason}; not copied back (delete it if it is unwanted)"))

    def _live(self, side: Side) -> dict[str, Record]:
        return {r.id: r for r in {**self.d.index[side], **self.d.changes[side]}.values() if not r.deleted}

    def _relink_by_id(self, unlinked: dict[Side, list[Record]]) -> None:
        """Links rebuilt from `id_field` (the right id kept on the left record) before matching by email,
        so links survive a lost state store."""
        entry = self.d.mapper.by_key.get(self.d.mapper.id_key or "")
        if entry is None:
            return
        lefts, rights = self._live("left"), self._live("right")
        pairs = {(r.id, str(r.get(entry.left[0]))) for r in unlinked["left"]}
        wanted = {r.id for r in unlinked["right"]}
        pairs |= {(r.id, str(r.get(entry.left[0]))) for r in lefts.values() if r.get(entry.left[0]) in wanted}
        for left_id, right_id in sorted(pairs):
            if left_id in lefts and right_id in rights and self._free(left_id, right_id):
                pair = {"left": lefts[left_id], "right": rights[right_id]}
                if all(self._filter(side, pair[side], True) is None for side in SIDES):
                    self._link("left", pair["left"], pair["right"])

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
        found, left_out = self._taking_part(side, record, found)
        if left_out is not None:
            self.emit(Skip(side, record.id, left_out))
            return
        if len(found) > 1 and self.d.on_duplicate != "link_oldest":
            ids = ", ".join(sorted(c.id for c in found))
            self.emit(Skip(side, record.id, f"{len(found)} {target} records match {key!r} ({ids}); on_duplicate: skip"))
            return
        if found:
            self._link(side, record, _oldest(found))
        else:
            self._create(side, record)

    def _taking_part(self, side: Side, record: Record, candidates: list[Record]) -> tuple[list[Record], str | None]:
        """The candidates that pass their own side's IF condition, and why the first failing one was left out:
        conditions apply before matching, so a record that fails is never linked, whichever side changed."""
        target = other(side)
        passing = [c for c in candidates if self._filter(target, c, True) is None]
        failing = [c for c in candidates if c not in passing]
        if passing or not failing:
            return passing, None
        first = min(failing, key=lambda c: c.id)
        why = self._filter(target, first, True)
        return [], f"it matches {target} record {first.id}, which is left out ({why}); not linked"

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
        stamp = self.d.origin_fields.get(target)
        if stamp is None and not self.d.create_without_key and self._key_of(side, record) is None:
            self.emit(Skip(side, record.id, self._unstampable(side, target)))
            return
        pending = self.d.pending.get((target, "create", record.id))
        if pending is not None and not self.d.feed[target]:
            self.emit(Skip(side, record.id, _MAY_HAVE_LANDED.format(target=target)))
            return
        early = self.d.early.get((target, record.id))
        if early is not None and early[0] == record:
            self.claimed[side].add(record.id)
            self.emit(early[1])
            return
        values = self.d.mapper.project(side, record)
        writable = {
            k: v for k, v in values.items() if v is not None and self.d.mapper.can_write(k, target, self.d.direction)
        }
        fields = self.d.mapper.render(target, writable, None)
        fields.update(self._set_fields(target))
        if stamp is not None:
            fields[stamp] = record.id
        key = pending or self.d.new_key()
        base = Base(left=dict(values) if side == "left" else {}, right=dict(values) if side == "right" else {})
        tags = tuple(a.add_tag for a in self.d.actions.get(target, []) if a.add_tag)
        rule = self.d.unsubscribes
        if record.unsubscribed and rule is not None and rule.enabled and self.d.tags_supported[target]:
            tags += (rule.tag,)  # created already tagged, or the run after would tag it (a run after a run)
        self.claimed[side].add(record.id)
        self.emit(Create(target, record.id, fields, base, key, tags))

    def _key_of(self, side: Side, record: Record) -> str | None:
        return match_key(record.get(self.d.match_fields[side]))

    def _unstampable(self, side: Side, target: Side) -> str:
        return (
            f"no {self.d.match_fields[side]} to match on, and the {target} app keeps no origin stamp: a create "
            "whose answer is lost could not be recognised and would be made twice. Give the record a "
            f"{self.d.match_fields[side]}, or set match.create_without_key: true to create it anyway"
        )


_MAY_HAVE_LANDED = (
    "an earlier create of this record in the {target} app may have landed (its answer was lost) and this run "
    "did not read the {target} change feed, where it would show; the next scheduled run links it or creates it"
)


def _age(record: Record) -> tuple[str, str]:
    created = record.get("created") or (record.updated.isoformat() if record.updated else "")
    return (str(created), record.id)


def _oldest(records: list[Record]) -> Record:
    return min(records, key=_age)
