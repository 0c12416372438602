"""The field-level three-way merge of a linked pair: which value flows across, and conflicts."""

from __future__ import annotations

from typing import Any

from engine.config.models import Direction
from engine.planner.actions import ActionPlanner
from engine.planner.model import (
    SIDES,
    Base,
    Conflict,
    Link,
    LinkOnly,
    Side,
    Skip,
    Update,
    other,
)
from engine.records import Record

TIE_BREAK: Side = "left"  # `conflict: newest` with equal or unknown change times (docs/rules.md)


class MergePlanner(ActionPlanner):
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
        when = {  # conditional set_field values, when their source record takes part
            side: self._conditional_fields(side, pair[other(side)]) if sources[other(side)] else {}
            for side in SIDES
        }
        self._emit_merge(link, base, writes, pair, settles, new, when)
        for side in SIDES:
            if sources[other(side)]:
                self._conditional_tags(side, pair[side], pair[other(side)])

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
        if (link.left_id, key) in self.d.picks:
            self._write_pick(link, key, values, base, writes)
            return
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

    def _write_pick(
        self, link: Link, key: str, values: dict[str, dict[str, Any]], base: Base, writes: dict[Side, dict[str, Any]]
    ) -> None:
        """A value a person picked in the review queue: written to each side that differs and may be written."""
        value = self.d.picks[(link.left_id, key)]
        for side in SIDES:
            current = values[side][key]
            if current != value and self.d.mapper.can_write(key, side, self.d.direction):
                writes[side][key] = current = value
            base.of(side)[key] = current
        self.plan.reviewed_picks.append((link.left_id, key))

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
        rule = self._rule_text()
        if not can["left"]:
            choice: Side = "left"
        elif not can["right"]:
            choice = "right"
        else:
            choice, rule = self._policy(records)
        loser = rv if choice == "left" else lv
        self.emit(Conflict(link.left_id, link.right_id, key, choice, lv if choice == "left" else rv, loser, rule))
        return choice

    def _policy(self, records: dict[str, Record]) -> tuple[Side, str]:
        """The winner of a two-way conflict and the rule that chose it, as the plan prints it.

        `newest` compares the change times the connectors read. A tie, or a side
        that cannot tell when its record changed (no time), goes to the documented
        tie-break: the left side wins, and the plan says why.
        """
        if self.d.conflict in ("left", "right"):
            fixed: Side = "left" if self.d.conflict == "left" else "right"
            return fixed, f"{fixed} side wins"
        left_time, right_time = records["left"].updated, records["right"].updated
        if left_time is None or right_time is None:
            unknown = " and ".join(side for side in SIDES if records[side].updated is None)
            return TIE_BREAK, f"newest change wins; the {unknown} side cannot tell when it changed: {TIE_BREAK} wins"
        if left_time == right_time:
            return TIE_BREAK, f"newest change wins; both changed at the same time: {TIE_BREAK} wins"
        return ("right" if right_time > left_time else "left"), "newest change wins"

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
        when: dict[Side, dict[str, Any]],
    ) -> None:
        for side in SIDES:
            record = records[side]
            wanted = {k: v for k, v in when[side].items() if record.get(k) != v}  # conditional set_field
            if not writes[side]:
                if wanted and self.d.modes[side].updates:
                    old = {name: record.get(name) for name in wanted}
                    self.emit(Update(side, record.id, link, wanted, old, base, self.d.new_key()))
                continue
            if not self.d.modes[side].updates:
                self.emit(
                    Skip(side, link.id_of(side), f"mode {self.d.modes[side].value}: not updating the {side} side")
                )
                for key in writes[side]:
                    base.left[key], base.right[key] = link.base.left.get(key), link.base.right.get(key)
                continue
            fields = self.d.mapper.render(side, writes[side], record)
            fields.update(self._set_fields(side))
            fields.update(wanted)
            fields = {k: v for k, v in fields.items() if record.get(k) != v}
            if fields:
                old = {name: record.get(name) for name in fields}
                self.emit(Update(side, record.id, link, fields, old, base, self.d.new_key(), tuple(writes[side])))
                self._action_tags(side, record.id, record)
        if new or base.left != link.base.left or base.right != link.base.right:
            self.emit(LinkOnly(link, base, settles=settles, new=new))
