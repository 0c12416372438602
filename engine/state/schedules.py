"""Shared schedules: when each scheduled connection is next due, claimed by one ticking process at a time.

With a queue (scale-out), any number of processes tick. A due time is claimed by
moving `next_due` forward with a compare-and-set, so two ticks never start one
connection twice for one due time, and a tick after a long outage starts each
overdue connection once, not once per missed period.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import delete, select, update

from engine.state import tables as t
from engine.state.database import Database, aware
from engine.state.tables import utcnow

_SCHEDULES = t.Schedule.__table__  # type: ignore[attr-defined]

NextFire = Callable[[str, datetime], datetime]
"""The first fire time of a schedule strictly after a moment."""


class ScheduleStore(Database):
    """Next due times per connection, kept equal to the config's schedules."""

    def sync_schedules(self, wanted: Mapping[str, str], next_fire: NextFire) -> None:
        """Add new schedules (first due at their next fire time), re-time changed ones, drop the rest."""
        now = utcnow()
        with self._tx() as tx:
            current = {r.connection: r.schedule for r in tx.execute(select(_SCHEDULES))}
            gone = [name for name in current if name not in wanted]
            if gone:
                tx.execute(delete(_SCHEDULES).where(_SCHEDULES.c.connection.in_(gone)))
            for name, schedule in wanted.items():
                if name not in current:
                    tx.execute(
                        _SCHEDULES.insert().values(
                            connection=name, schedule=schedule, next_due=next_fire(schedule, now)
                        )
                    )
                elif current[name] != schedule:
                    tx.execute(
                        update(_SCHEDULES)
                        .where(_SCHEDULES.c.connection == name)
                        .values(schedule=schedule, next_due=next_fire(schedule, now))
                    )

    def claim_due(self, now: datetime, next_fire: NextFire) -> list[tuple[str, datetime]]:
        """The connections due at `now` whose due time this caller won, with the due time each had."""
        with self._tx() as tx:
            due = tx.execute(select(_SCHEDULES).where(_SCHEDULES.c.next_due <= now)).all()
        claimed: list[tuple[str, datetime]] = []
        for row in due:
            with self._tx() as tx:
                won = tx.execute(
                    update(_SCHEDULES)
                    .where(_SCHEDULES.c.connection == row.connection, _SCHEDULES.c.next_due == row.next_due)
                    .values(next_due=next_fire(row.schedule, now))
                ).rowcount
            if won == 1:
                when = aware(row.next_due)
                assert when is not None
                claimed.append((row.connection, when))
        return claimed

    def next_due(self, connection: str) -> datetime | None:
        with self._tx() as tx:
            row = tx.execute(select(_SCHEDULES.c.next_due).where(_SCHEDULES.c.connection == connection)).first()
        return aware(row[0]) if row else None
