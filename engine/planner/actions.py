"""THEN actions: fields set and tags added or removed when writing into a side.

An action with `if` follows its condition, evaluated on the source record
(the other side's) with the run's clock: a conditional tag is added while
the condition holds and taken off when it stops holding, judged against the
tags the target record has, so nothing is sent again while nothing changed.
Conditions that compare with today can change with no change in either app:
those links are checked again every run from the stored record index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from engine.conditions import describe, uses_clock, why_not
from engine.config.models import Action
from engine.planner.base import PlannerBase
from engine.planner.model import DELETED, SIDES, Create, Link, Side, Tag, Update, other
from engine.records import Record


class ActionPlanner(PlannerBase):
    def _set_fields(self, side: Side) -> dict[str, Any]:
        return {a.set_field: a.value for a in self.d.actions.get(side, []) if a.set_field}

    def _action_tags(self, side: Side, record_id: str, record: Record) -> None:
        for action in self.d.actions.get(side, []):
            if action.add_tag and action.add_tag not in record.tags:
                self.emit(Tag(side, record_id, action.add_tag, True, "THEN add_tag", self.d.new_key()))
            if action.remove_tag and action.remove_tag in record.tags:
                self.emit(Tag(side, record_id, action.remove_tag, False, "THEN remove_tag", self.d.new_key()))

    # conditional actions ----------------------------------------------------

    def _why_not(self, action: Action, source: Record, exists: bool) -> str | None:
        """None when the action's condition holds for `source`, else the part that fails."""
        assert action.if_ is not None
        return why_not(action.if_, source, exists, self.d.condition_ops, self.d.now)

    def _conditional_fields(self, side: Side, source: Record, exists: bool = True) -> dict[str, Any]:
        """The `set_field` values of conditional actions into `side` whose condition holds for `source`."""
        if not self.d.direction.writes(side):
            return {}
        return {
            a.set_field: a.value
            for a in self.d.conditional.get(side, [])
            if a.set_field and self._why_not(a, source, exists) is None
        }

    def _conditional_tags(self, side: Side, target: Record, source: Record) -> None:
        """Tags of conditional actions into `side` brought in line with their conditions on `source`."""
        actions = self.d.conditional.get(side, [])
        if not actions or not self.d.direction.writes(side) or not self.d.tags_supported[side]:
            return
        for action in actions:
            tag = action.add_tag or action.remove_tag
            if tag is None or action.if_ is None:
                continue
            failed = self._why_not(action, source, True)
            rule = f"THEN {'add_tag' if action.add_tag else 'remove_tag'} {tag!r} if {describe(action.if_)}"
            if action.add_tag and failed is None and tag not in target.tags:
                self.emit(Tag(side, target.id, tag, True, rule, self.d.new_key()))
            elif action.add_tag and failed is not None and tag in target.tags:
                reason = f"{rule}: the condition no longer holds ({failed})"
                self.emit(Tag(side, target.id, tag, False, reason, self.d.new_key()))
            elif action.remove_tag and failed is None and tag in target.tags:
                self.emit(Tag(side, target.id, tag, False, rule, self.d.new_key()))

    def _conditional_creates(self) -> None:
        """Records this plan creates take the tags and fields of the conditional actions that hold for them."""
        for index, op in enumerate(self.plan.operations):
            if not isinstance(op, Create) or not self.d.conditional.get(op.side):
                continue
            source_side = other(op.side)
            source = self.d.changes[source_side].get(op.source_id) or self.d.index[source_side].get(op.source_id)
            if source is None:
                continue
            held = [a for a in self.d.conditional[op.side] if self._why_not(a, source, False) is None]
            fields = {**op.fields, **self._conditional_fields(op.side, source, exists=False)}
            added = [] if not self.d.tags_supported[op.side] else [a.add_tag for a in held if a.add_tag]
            tags = (*op.tags, *(tag for tag in added if tag not in op.tags))
            self.plan.operations[index] = replace(op, fields=fields, tags=tags)

    def _clocked(self) -> bool:
        """Whether some condition compares with today, so links can change with no change in the apps."""
        return self.d.clocked or any(uses_clock(a.if_) for side in SIDES for a in self.d.conditional.get(side, []))

    def _recheck(self, links: Iterable[Link]) -> None:
        """Conditional actions of links this run did not plan otherwise, from the stored records (no reads)."""
        for link in links:
            pair = {side: self._current(side, link.id_of(side)) for side in SIDES}
            left, right = pair["left"], pair["right"]
            if left is None or right is None or left.deleted or right.deleted:
                continue
            if link.base.left.get(DELETED) or link.base.right.get(DELETED):
                continue
            records: dict[Side, Record] = {"left": left, "right": right}
            for side in SIDES:
                self._recheck_side(link, side, records[side], records[other(side)])

    def _recheck_side(self, link: Link, side: Side, target: Record, source: Record) -> None:
        if self._filter(other(side), source, True) is not None:
            return
        self._conditional_tags(side, target, source)
        wanted = {k: v for k, v in self._conditional_fields(side, source).items() if target.get(k) != v}
        if wanted and self.d.modes[side].updates:
            old = {name: target.get(name) for name in wanted}
            self.emit(Update(side, target.id, link, wanted, old, link.base, self.d.new_key()))
