"""Run history: one row a run with its summary, and the per-record events it produced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from engine.state import tables as t
from engine.state.database import Database, aware, json_safe, redacted
from engine.state.locks import holder_dead
from engine.state.tables import utcnow

_RUNS = t.Run.__table__  # type: ignore[attr-defined]
_EVENTS = t.RunEvent.__table__  # type: ignore[attr-defined]
_LOCKS = t.Lock.__table__  # type: ignore[attr-defined]


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

    def close_abandoned_runs(self) -> list[int]:
        """Close as `interrupted` the runs left `running` by a process that no longer exists.

        A run holds the lock `run:<connection>` from before its row is opened until after it is closed, so a
        `running` row whose lock is gone, expired, or held by a dead process on this host was abandoned (killed,
        crashed). A lock held by a live process, or by one on another host, leaves the row alone.
        """
        now = utcnow()
        with self._tx() as tx:
            rows = tx.execute(select(_RUNS.c.id, _RUNS.c.connection).where(_RUNS.c.status == "running")).all()
            if not rows:
                return []
            locks = {
                row.name: (row.holder, aware(row.expires_at))
                for row in tx.execute(select(_LOCKS.c.name, _LOCKS.c.holder, _LOCKS.c.expires_at))
                if row.name.startswith("run:")
            }
            closed = []
            for run_id, connection in rows:
                if _still_held(locks.get(f"run:{connection}"), now):
                    continue
                done = tx.execute(
                    update(_RUNS)
                    .where(_RUNS.c.id == run_id, _RUNS.c.status == "running")
                    .values(status="interrupted", finished_at=now)
                )
                if done.rowcount:
                    closed.append(int(run_id))
            return closed

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

    def note_worker(self, run_id: int, worker: str, queue_wait: float | None) -> None:
        """Which queue worker ran a run and how long it waited for one (scale-out)."""
        with self._tx() as tx:
            tx.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(worker=worker, queue_wait=queue_wait))

    def runs_by_worker(self, since: datetime) -> dict[str, int]:
        """How many runs each queue worker started since a moment (for the jobs-per-worker metric)."""
        with self._tx() as tx:
            rows = tx.execute(
                select(_RUNS.c.worker, func.count())
                .where(_RUNS.c.worker.is_not(None), _RUNS.c.started_at >= since)
                .group_by(_RUNS.c.worker)
            )
            return {str(worker): int(count) for worker, count in rows}

def _still_held(lock: tuple[str, datetime | None] | None, now: datetime) -> bool:
    """Whether a run lock still belongs to a live run."""
    return lock is not None and not holder_dead(lock[0], lock[1], now)
