"""THEN actions: fields set and tags added or removed when writing into a side."""

from __future__ import annotations

from typing import Any

from engine.planner.base import PlannerBase
from engine.planner.model import Side, Tag
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
