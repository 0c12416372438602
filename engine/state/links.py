"""Links with their merge base, and the record index: the last seen state of every record of a side."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select

from engine.planner.model import Base, Link
from engine.records import Record, match_key
from engine.state import tables as t
from engine.state.database import Database, aware
from engine.state.tables import utcnow

_LINKS = t.Link.__table__  # type: ignore[attr-defined]
_SEEN = t.SeenRecord.__table__  # type: ignore[attr-defined]

_SEEN_STATE = ("match_key", "fields", "tags", "updated", "deleted", "unsubscribed")


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
                lefts = [row["left_id"] for row in chunk]
                rights = [row["right_id"] for row in chunk]
                tx.execute(
                    delete(_LINKS).where(
                        _LINKS.c.connection == connection,
                        _LINKS.c.left_id.in_(lefts) | _LINKS.c.right_id.in_(rights),
                    )
                )
                tx.execute(_LINKS.insert(), chunk)

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
            }
            for r in records
        ]
        statement = self._upsert(_SEEN)
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
