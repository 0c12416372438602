"""The planner: pure, no I/O. From what each side holds, the links and the merge base, it returns operations.

Shape after vdirsyncer's `_get_actions`: every record is compared with its
stored base, never with a clock, so a run right after a run plans nothing.
"""

from __future__ import annotations

from engine.planner.base import Filter, PlanInput
from engine.planner.matching import MatchPlanner
from engine.planner.model import (
    SIDES,
    Link,
    Plan,
    Side,
    Tag,
    Update,
)
from engine.records import Record

__all__ = ["Filter", "PlanInput", "plan"]


def plan(data: PlanInput) -> Plan:
    return _Planner(data).run()


class _Planner(MatchPlanner):
    """One planning pass: linked records first, then unlinked ones, then the mass-change breaker."""

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
        for link in [*self._vanished(), *self._ids_to_write(), *self._reviewed()]:
            touched[id(link)] = link
        for link in touched.values():
            self._linked(link)
        if self._clocked():
            self._recheck(link for link in self.d.links if id(link) not in touched)
        self._match_and_create(unlinked)
        self._conditional_creates()
        self._breaker()
        return self.plan

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
                "written. If that is intended, run again with --force (the plan lists every change)"
            )

    def _id_only(self, op: Update | Tag) -> bool:
        """An update that only writes `id_field`: bookkeeping the breaker does not count."""
        return isinstance(op, Update) and self.d.mapper.id_key is not None and op.keys == (self.d.mapper.id_key,)

    def _was_linked(self, side: Side, record_id: str) -> bool:
        return record_id in self.by_id[side]
