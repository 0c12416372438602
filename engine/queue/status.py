"""Waiting and running jobs per connection, read straight from the state database (no queue client needed).

`pairsync status` and the service's API show them; on SQLite state, or before
the queue's schema exists, there are none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.queue.app import QUEUE, RUN_TASK
from engine.state.store import StateStore

_JOBS = text(
    "SELECT lock, status, count(*) AS jobs, min(scheduled_at) AS earliest FROM procrastinate_jobs "
    "WHERE queue_name = :queue AND task_name = :task AND status IN ('todo', 'doing') GROUP BY lock, status"
)


def queued_jobs(store: StateStore) -> dict[str, dict[str, Any]]:
    """connection -> {"waiting": n, "running": n, "asked_by": [triggers]} for connections with queued work."""
    if store.engine.dialect.name != "postgresql":
        return {}
    try:
        with store.engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
                return {}
            rows = connection.execute(_JOBS, {"queue": QUEUE, "task": RUN_TASK}).mappings().all()
    except DBAPIError:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(row["lock"], {"waiting": 0, "running": 0, "asked_by": []})
        entry["waiting" if row["status"] == "todo" else "running"] += int(row["jobs"])
    for name, wish in store.waiting_requests().items():
        found.setdefault(name, {"waiting": 0, "running": 0, "asked_by": []})["asked_by"] = wish.triggers
    return found
