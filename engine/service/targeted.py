"""Targeted syncs: a run whose changes are just the records a webhook named, fetched with `get(id)`.

The rest of the run is the ordinary one (`engine.runner.run_connection`):
the same plan, journal, executor and history. Nothing is marked complete,
so a record that is not named is never taken for deleted, and no cursor
moves, so the next scheduled run still reads everything the feed holds.
Records waiting for a retry are read too, on both sides, because a run
replaces each side's retry list with its own failures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.planner.model import Side
from engine.records import Record
from engine.runner import Reader, Session, SideRead
from engine.service.history import last_seen


def targeted_reader(named: Mapping[Side, Iterable[str]]) -> Reader:
    """A reader for `run_connection` that fetches the named ids of each side (and its pending retries)."""

    async def read(session: Session, side: Side) -> SideRead:
        retries = session.store.retries(session.connection.name, side)
        ids = list(dict.fromkeys([*named.get(side, ()), *retries]))
        return SideRead(changes=await fetch(session, side, ids), complete=False)

    return read


async def fetch(session: Session, side: Side, ids: list[str]) -> dict[str, Record]:
    """The current state of each id; an id the app no longer has comes back deleted if the index knew it."""
    found = await session.fetch(side, ids)
    gone = [record_id for record_id in ids if record_id not in found]
    for record_id, known in last_seen(session.store, session.connection.name, side, gone).items():
        found[record_id] = Record(id=record_id, fields=known.fields, tags=known.tags, deleted=True)
    return found
