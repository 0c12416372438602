"""Links with their merge base, and the record index: the last seen state of every record of a side."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select, update

from engine.planner.model import Base, Link
from engine.records import Record, match_key
from engine.state import tables as t
from engine.state.database import Database, aware
from engine.state.tables import utcnow

_LINKS = t.Link.__table__  # type: ignore[attr-defined]
_SEEN = t.SeenRecord.__table__  # type: ignore[attr-defined]

_SEEN_STATE = ("match_key", "fields", "tags", "updated", "deleted", "unsubscribed", "search", "linked")
_SEARCHED = ("name", "email")


def search_text(fields: Mapping[str, Any]) -> str | None:
    """The names, then the email, of a record in lowercase: what the dashboard searches.

    Fields whose name contains "name" or "email" count, whatever the connector calls them.
    """
    words = [
        str(value).casefold()
        for part in _SEARCHED  # names first, so that a name's start is the start of the text (an index range)
        for key, value in fields.items()
        if isinstance(value, str) and value and part in key.casefold()
    ]
    return " ".join(dict.fromkeys(words))[:300] or None


class LinkStore(Database):
    """Which records are paired, what they agreed on last, and what each side looked like."""

    def links(self, connection: str) -> list[Link]:
        with self._tx() as tx:
            rows = tx.execute(select(_LINKS).where(_LINKS.c.connection == connection)).mappings()
            return [Link(r["left_id"], r["right_id"], Base(r["base_left"], r["base_right"])) for r in rows]

    def save_links(self, connection: str, links: Iterable[Link]) -> None:
        """Insert or replace links (by either id) with their new merge base, in one transaction."""
        latest = {(link.left_id, link.right_id): link for link in links}
        rows = [
            {
                "connection": connection,
                "left_id": link.left_id,
                "right_id": link.right_id,
                "base_left": link.base.left,
                "base_right": link.base.right,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
            for link in latest.values()
        ]
        with self._tx() as tx:
            for start in range(0, len(rows), 400):
                chunk = rows[start : start + 400]
                lefts: list[str] = [str(row["left_id"]) for row in chunk]
                rights: list[str] = [str(row["right_id"]) for row in chunk]
                replaced = (
                    _LINKS.c.connection == connection,
                    _LINKS.c.left_id.in_(lefts) | _LINKS.c.right_id.in_(rights),
                )
                old = tx.execute(select(_LINKS.c.left_id, _LINKS.c.right_id).where(*replaced)).all()
                tx.execute(delete(_LINKS).where(*replaced))
                tx.execute(_LINKS.insert(), chunk)
                _mark_linked(tx, connection, "left", {left for left, _ in old} - set(lefts), False)
                _mark_linked(tx, connection, "right", {right for _, right in old} - set(rights), False)
                _mark_linked(tx, connection, "left", lefts, True)
                _mark_linked(tx, connection, "right", rights, True)

    def remember(self, connection: str, side: str, records: Sequence[Record], match_field: str) -> None:
        """Save the last seen state of records (bulk upsert)."""
        if not records:
            return
        records = list({r.id: r for r in records}.values())  # the last state of each record wins
        rows = [
            {
                "connection": connection,
                "side": side,
                "record_id": r.id,
                "match_key": match_key(r.get(match_field)),
                "fields": dict(r.fields),
                "tags": sorted(r.tags),
                "updated": r.updated,
                "deleted": r.deleted,
                "unsubscribed": r.unsubscribed,
                "search": search_text(r.fields),
                "link_connection": connection,
                "link_id": r.id,
            }
            for r in records
        ]
        column = _LINKS.c.left_id if side == "left" else _LINKS.c.right_id
        linked = exists().where(_LINKS.c.connection == bindparam("link_connection"), column == bindparam("link_id"))
        statement = self._upsert(_SEEN).values(linked=linked)
        statement = statement.on_conflict_do_update(
            index_elements=["connection", "side", "record_id"],
            set_={k: statement.excluded[k] for k in _SEEN_STATE},
        )
        with self._tx() as tx:
            tx.execute(statement, rows)  # one compiled statement, sent in batches by the driver

    def seen(self, connection: str, side: str) -> dict[str, Record]:
        """Every record of a side as last seen, by id."""
        with self._tx() as tx:
            rows = tx.execute(select(_SEEN).where(_SEEN.c.connection == connection, _SEEN.c.side == side)).mappings()
            return {
                r["record_id"]: Record(
                    id=r["record_id"],
                    fields=r["fields"],
                    updated=aware(r["updated"]),
                    deleted=r["deleted"],
                    tags=frozenset(r["tags"]),
                    unsubscribed=r["unsubscribed"],
                )
                for r in rows
            }

    def count_seen(self, connection: str, side: str) -> int:
        with self._tx() as tx:
            return int(
                tx.execute(
                    select(func.count())
                    .select_from(_SEEN)
                    .where(_SEEN.c.connection == connection, _SEEN.c.side == side, _SEEN.c.deleted.is_(False))
                ).scalar_one()
            )


def _mark_linked(tx: Any, connection: str, side: str, ids: Iterable[str], linked: bool) -> None:
    wanted = list(ids)
    if wanted:
        tx.execute(
            update(_SEEN)
            .where(_SEEN.c.connection == connection, _SEEN.c.side == side, _SEEN.c.record_id.in_(wanted))
            .values(linked=linked)
        )
