"""Run history: one row a run with its summary, and the per-record events it produced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from engine.state import tables as t
from engine.state.database import Database, json_safe, redacted
from engine.state.tables import utcnow

_RUNS = t.Run.__table__  # type: ignore[attr-defined]
_EVENTS = t.RunEvent.__table__  # type: ignore[attr-defined]


class RunStore(Database):
    """Runs and their events, secrets scrubbed before they are stored."""

    def start_run(self, connection: str, trigger: str = "cli") -> int:
        with self._tx() as tx:
            result = tx.execute(
                _RUNS.insert().values(
                    connection=connection, trigger=trigger, status="running", started_at=utcnow(), summary={}
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self._tx() as tx:
            tx.execute(
                update(_RUNS)
                .where(_RUNS.c.id == run_id)
                .values(status=status, finished_at=utcnow(), summary=json_safe(redacted(summary)))
            )

    def add_events(self, run_id: int, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        with self._tx() as tx:
            tx.execute(
                _EVENTS.insert(),
                [
                    {
                        "run_id": run_id,
                        "side": e.get("side"),
                        "record_id": e.get("record_id"),
                        "kind": e["kind"],
                        "detail": json_safe(redacted(e.get("detail", {}))),
                        "at": utcnow(),
                    }
                    for e in events
                ],
            )

    def runs(self, connection: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        query = select(_RUNS).order_by(_RUNS.c.id.desc()).limit(limit)
        if connection:
            query = query.where(_RUNS.c.connection == connection)
        with self._tx() as tx:
            return [dict(r) for r in tx.execute(query).mappings()]

    def run(self, run_id: int) -> dict[str, Any] | None:
        with self._tx() as tx:
            row = tx.execute(select(_RUNS).where(_RUNS.c.id == run_id)).mappings().first()
            return dict(row) if row else None

    def event(self, event_id: int) -> dict[str, Any] | None:
        with self._tx() as tx:
            row = tx.execute(select(_EVENTS).where(_EVENTS.c.id == event_id)).mappings().first()
            return dict(row) if row else None

    def events(self, run_id: int) -> list[dict[str, Any]]:
        with self._tx() as tx:
            rows = tx.execute(select(_EVENTS).where(_EVENTS.c.run_id == run_id).order_by(_EVENTS.c.id)).mappings()
            return [dict(r) for r in rows]
