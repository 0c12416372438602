"""The dashboard's reads: one page at a time, on indexed columns, with keyset paging (no OFFSET scans).

Every function takes the `after`/`before` key of the last row shown and returns
one row more than asked when there is a next page, so the page knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, or_, select, tuple_

from engine.state import tables as t
from engine.state.store import StateStore

_SEEN = t.SeenRecord.__table__  # type: ignore[attr-defined]
_LINKS = t.Link.__table__  # type: ignore[attr-defined]
_RUNS = t.Run.__table__  # type: ignore[attr-defined]
_EVENTS = t.RunEvent.__table__  # type: ignore[attr-defined]
_RETRIES = t.Retry.__table__  # type: ignore[attr-defined]

CONFLICT_RUNS = 50
"""The review screen lists conflicts of this many newest runs of a connection."""


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next: str | None = None
    """The key to ask for the next page with, None on the last page."""
    extra: dict[str, Any] = field(default_factory=dict)


def _page(rows: list[dict[str, Any]], limit: int, key: Any) -> Page:
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, key(rows[-1]))
    return Page(rows)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# the record index ----------------------------------------------------------------


def records(
    store: StateStore, connection: str, synced: bool | None, q: str = "", after: str | None = None, limit: int = 50
) -> Page:
    """Live records of both sides, linked (synced) or not, searched by id, email or name, in (side, id) order."""
    query = select(_SEEN).where(_SEEN.c.connection == connection, _SEEN.c.deleted.is_(False))
    if synced is not None:
        query = query.where(_SEEN.c.linked.is_(synced))
    if after:
        side, _, record_id = after.partition(":")
        query = query.where(tuple_(_SEEN.c.side, _SEEN.c.record_id) > tuple_(side, record_id))
    with store.engine.begin() as tx:
        if q.strip():
            found = _matches(tx, connection, q.strip())
            chunks = [
                query.where(_SEEN.c.side == side, _SEEN.c.record_id.in_(ids[start : start + 500]))
                for side, ids in found.items()
                for start in range(0, len(ids), 500)
            ]
            result = sorted(
                (dict(r) for chunk in chunks for r in tx.execute(chunk).mappings()),
                key=lambda r: (r["side"], r["record_id"]),
            )[: limit + 1]
        else:
            ordered = query.order_by(_SEEN.c.side, _SEEN.c.record_id).limit(limit + 1)
            result = [dict(r) for r in tx.execute(ordered).mappings()]
    rows = [
        {"side": r["side"], "id": r["record_id"], "synced": bool(r["linked"]), "fields": r["fields"],
         "tags": r["tags"], "updated": r["updated"]}
        for r in result
    ]
    return _page(rows, limit, lambda row: f"{row['side']}:{row['id']}")


SEARCH_CAP = 5000
"""A search reads at most this many matches (from an index), then pages through them."""


def _matches(tx: Any, connection: str, q: str) -> dict[str, list[str]]:
    """The ids a search matches on each side, found on an index, never by reading the records themselves.

    An id, the start of an email (the match key) or the start of a name is an index lookup; a word inside
    a name is matched against the short `search` column (names and email, lowercase) on its covering index.
    """
    folded = q.casefold()
    pairs = select(_SEEN.c.side, _SEEN.c.record_id).where(_SEEN.c.connection == connection)
    exact = [pairs.where(_SEEN.c.side == side, _SEEN.c.record_id == q) for side in ("left", "right")] + [
        pairs.where(_SEEN.c.side == side, _SEEN.c.match_key >= folded, _SEEN.c.match_key < folded + "\U0010ffff")
        for side in ("left", "right")
    ]
    found = {tuple(row) for query in exact for row in tx.execute(query.limit(SEARCH_CAP))}
    if not found and "@" not in q:  # the start of the name: an index range
        start = pairs.where(_SEEN.c.search >= folded, _SEEN.c.search < folded + "\U0010ffff")
        found = {tuple(row) for row in tx.execute(start.limit(SEARCH_CAP))}
    if not found and "@" not in q:  # a word inside: a scan of the covering index, not of the records
        scan = pairs.where(_SEEN.c.search.like(_like(folded), escape="\\")).limit(SEARCH_CAP)
        found = {tuple(row) for row in tx.execute(scan)}
    return {side: sorted(rid for s, rid in found if s == side) for side in ("left", "right")}


def record(store: StateStore, connection: str, side: str, record_id: str) -> dict[str, Any] | None:
    query = select(_SEEN).where(_SEEN.c.connection == connection, _SEEN.c.side == side, _SEEN.c.record_id == record_id)
    with store.engine.begin() as tx:
        row = tx.execute(query).mappings().first()
        return dict(row) if row else None


def partner(store: StateStore, connection: str, side: str, record_id: str) -> tuple[str, str] | None:
    """The (left id, right id) of the link holding a record, if it is linked."""
    column = _LINKS.c.left_id if side == "left" else _LINKS.c.right_id
    query = select(_LINKS.c.left_id, _LINKS.c.right_id).where(_LINKS.c.connection == connection, column == record_id)
    with store.engine.begin() as tx:
        row = tx.execute(query).first()
        return (row[0], row[1]) if row else None


def history(store: StateStore, connection: str, record_ids: list[str], before: int | None, limit: int = 50) -> Page:
    """Events about these records (both ids of a link) across runs of a connection, newest first."""
    query = (
        select(_EVENTS, _RUNS.c.trigger, _RUNS.c.started_at)
        .join(_RUNS, _RUNS.c.id == _EVENTS.c.run_id)
        .where(_EVENTS.c.record_id.in_(record_ids), _RUNS.c.connection == connection)
    )
    if before is not None:
        query = query.where(_EVENTS.c.id < before)
    with store.engine.begin() as tx:
        rows = [dict(r) for r in tx.execute(query.order_by(_EVENTS.c.id.desc()).limit(limit + 1)).mappings()]
    return _page(rows, limit, lambda row: str(row["id"]))


# runs ----------------------------------------------------------------------------------


def runs(store: StateStore, connection: str, before: int | None = None, limit: int = 20) -> Page:
    query = select(_RUNS).where(_RUNS.c.connection == connection)
    if before is not None:
        query = query.where(_RUNS.c.id < before)
    with store.engine.begin() as tx:
        rows = [dict(r) for r in tx.execute(query.order_by(_RUNS.c.id.desc()).limit(limit + 1)).mappings()]
    return _page(rows, limit, lambda row: str(row["id"]))


def events(
    store: StateStore, run_id: int, q: str = "", kind: str = "", after: int | None = None, limit: int = 50
) -> Page:
    """One page of a run's per-record events, searched by record id or any text in the detail."""
    query = select(_EVENTS).where(_EVENTS.c.run_id == run_id)
    if kind:
        query = query.where(_EVENTS.c.kind == kind)
    q = q.strip()
    if q:
        query = query.where(
            or_(_EVENTS.c.record_id == q, cast(_EVENTS.c.detail, String).ilike(_like(q), escape="\\"))
        )
    if after is not None:
        query = query.where(_EVENTS.c.id > after)
    with store.engine.begin() as tx:
        rows = [dict(r) for r in tx.execute(query.order_by(_EVENTS.c.id).limit(limit + 1)).mappings()]
    return _page(rows, limit, lambda row: str(row["id"]))


def event_kinds(store: StateStore, run_id: int) -> dict[str, int]:
    query = select(_EVENTS.c.kind, func.count()).where(_EVENTS.c.run_id == run_id).group_by(_EVENTS.c.kind)
    with store.engine.begin() as tx:
        return {kind: int(n) for kind, n in tx.execute(query)}


# review and failures ---------------------------------------------------------------------


def conflicts(store: StateStore, connection: str, before: int | None = None, limit: int = 20) -> Page:
    """Conflicts of the newest runs, newest first, each with both values and the side the rule kept."""
    recent = select(_RUNS.c.id).where(_RUNS.c.connection == connection).order_by(_RUNS.c.id.desc()).limit(CONFLICT_RUNS)
    query = select(_EVENTS).where(_EVENTS.c.run_id.in_(recent.scalar_subquery()), _EVENTS.c.kind == "conflict")
    if before is not None:
        query = query.where(_EVENTS.c.id < before)
    with store.engine.begin() as tx:
        rows = [dict(r) for r in tx.execute(query.order_by(_EVENTS.c.id.desc()).limit(limit + 1)).mappings()]
    return _page(rows, limit, lambda row: str(row["id"]))


def failures(store: StateStore, connection: str, after: str | None = None, limit: int = 50) -> Page:
    """Records failing now (the retry list), each with the first failure of its current streak."""
    query = select(_RETRIES).where(_RETRIES.c.connection == connection)
    if after:
        side, _, record_id = after.partition(":")
        query = query.where(tuple_(_RETRIES.c.side, _RETRIES.c.record_id) > tuple_(side, record_id))
    with store.engine.begin() as tx:
        rows = [
            dict(r)
            for r in tx.execute(query.order_by(_RETRIES.c.side, _RETRIES.c.record_id).limit(limit + 1)).mappings()
        ]
        page = _page(rows, limit, lambda row: f"{row['side']}:{row['record_id']}")
        since = _failing_since(tx, connection, [row["record_id"] for row in page.rows])
    for row in page.rows:
        row["since"] = since.get(row["record_id"]) or row["last_failed_at"]
    return page


GOOD = ("created", "updated", "tagged", "untagged", "linked")


def _failing_since(tx: Any, connection: str, record_ids: list[str]) -> dict[str, datetime]:
    """When the current streak of failures of each record began: its first failure after its last success."""
    if not record_ids:
        return {}
    query = (
        select(_EVENTS.c.record_id, _EVENTS.c.kind, _EVENTS.c.at)
        .join(_RUNS, _RUNS.c.id == _EVENTS.c.run_id)
        .where(
            _EVENTS.c.record_id.in_(record_ids),
            _RUNS.c.connection == connection,
            _EVENTS.c.kind.in_(("failed", *GOOD)),
        )
        .order_by(_EVENTS.c.id)
    )
    since: dict[str, datetime] = {}
    for record_id, kind, at in tx.execute(query):
        if kind != "failed":
            since.pop(record_id, None)
        else:
            since.setdefault(record_id, at)
    return since
