"""Service-side reads and claims on the state store, built on `StateStore.engine` and its lock table.

Three kinds of rows live in the `locks` table besides run locks, all named
by prefix: `hold:<connection>` (disabled through the API, no expiry),
`webhook:<account>:<digest>` (a delivery already accepted, expires) and the
run lock `run:<connection>` that `engine.runner` takes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from engine.records import Record
from engine.state import tables as t
from engine.state.store import StateStore
from engine.state.tables import utcnow

_SEEN = t.SeenRecord.__table__  # type: ignore[attr-defined]
_RUNS = t.Run.__table__  # type: ignore[attr-defined]
_LOCKS = t.Lock.__table__  # type: ignore[attr-defined]

FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
HOLD = "hold:"
API_HOLDER = "api"


def run_lock(connection: str) -> str:
    """The name `engine.runner` locks a connection's runs under."""
    return f"run:{connection}"


# holds: connections disabled through the API --------------------------------


def held(store: StateStore) -> set[str]:
    """Connections disabled through the API (by any service process sharing this state)."""
    with store.engine.begin() as tx:
        rows = tx.execute(select(_LOCKS.c.name).where(_LOCKS.c.name.startswith(HOLD)))
        return {name[len(HOLD) :] for (name,) in rows}


def hold(store: StateStore, connection: str) -> None:
    store.acquire(HOLD + connection, API_HOLDER, ttl=FOREVER - utcnow())


def unhold(store: StateStore, connection: str) -> None:
    store.release(HOLD + connection, API_HOLDER)


# webhook deliveries ----------------------------------------------------------


def claim_delivery(store: StateStore, account: str, digest: str, memory: timedelta) -> bool:
    """True the first time a delivery is seen within `memory`; a replay or duplicate gets False."""
    return store.acquire(f"webhook:{account}:{digest}", uuid.uuid4().hex, ttl=memory)


def forget_old_deliveries(store: StateStore) -> None:
    with store.engine.begin() as tx:
        tx.execute(delete(_LOCKS).where(_LOCKS.c.name.startswith("webhook:"), _LOCKS.c.expires_at < utcnow()))


# runs ----------------------------------------------------------------------------


def mark_interrupted(store: StateStore, connection: str) -> int:
    """Close runs left `running` by a process that stopped; only when no live run holds the connection."""
    holder = f"recovery:{uuid.uuid4().hex}"
    if not store.acquire(run_lock(connection), holder):
        return 0
    try:
        with store.engine.begin() as tx:
            result = tx.execute(
                update(_RUNS)
                .where(_RUNS.c.connection == connection, _RUNS.c.status == "running")
                .values(status="interrupted", finished_at=utcnow())
            )
            return int(result.rowcount or 0)
    finally:
        store.release(run_lock(connection), holder)


def last_started(store: StateStore, connection: str) -> datetime | None:
    runs = store.runs(connection, limit=1)
    if not runs:
        return None
    started: datetime = runs[0]["started_at"]
    return started if started.tzinfo else started.replace(tzinfo=UTC)


# the record index ------------------------------------------------------------


def last_seen(store: StateStore, connection: str, side: str, ids: Iterable[str]) -> dict[str, Record]:
    """Records of a side as last seen, for the given ids only."""
    wanted = list(ids)
    if not wanted:
        return {}
    query = select(_SEEN).where(_SEEN.c.connection == connection, _SEEN.c.side == side, _SEEN.c.record_id.in_(wanted))
    with store.engine.begin() as tx:
        return {
            r["record_id"]: Record(id=r["record_id"], fields=r["fields"], tags=frozenset(r["tags"]))
            for r in tx.execute(query).mappings()
        }


def records(
    store: StateStore, connection: str, synced: bool | None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Live records of both sides from the record index, linked (synced) or not, in a stable order.

    `linked` is the record index's own flag, kept by `save_links` and `remember` (an index read, not a join).
    """
    query = select(_SEEN).where(_SEEN.c.connection == connection, _SEEN.c.deleted.is_(False))
    if synced is not None:
        query = query.where(_SEEN.c.linked.is_(synced))
    query = query.order_by(_SEEN.c.side, _SEEN.c.record_id).limit(limit).offset(offset)
    with store.engine.begin() as tx:
        return [
            {
                "side": r["side"],
                "id": r["record_id"],
                "synced": bool(r["linked"]),
                "fields": r["fields"],
                "tags": r["tags"],
            }
            for r in tx.execute(query).mappings()
        ]
