"""Links with their merge base, and the record index: the last seen state of every record of a side.

Both tables keep a digest of what was saved, so saving state that did not change writes nothing,
and the index is read raw: a stored record's fields are decoded only when the plan looks at them.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, exists, func, select, text, update

from engine.planner.model import Base, Link
from engine.records import Record, match_key
from engine.state import tables as t
from engine.state.database import Database
from engine.state.rows import JsonFields, collector_paused, compact_bases, digest, stored_json, stored_time
from engine.state.tables import utcnow

_LINKS = t.Link.__table__  # type: ignore[attr-defined]
_SEEN = t.SeenRecord.__table__  # type: ignore[attr-defined]

_SEEN_STATE = ("match_key", "fields", "tags", "updated", "deleted", "unsubscribed", "search", "linked", "digest")
_NO_TAGS: frozenset[str] = frozenset()
_CHUNK = 400  # ids per IN (...) list: well under SQLite's variable limit
_DECODED = 1000  # links whose bases are decoded in one go (they share keys and equal values)
_SEARCHED = ("name", "email")
_ANALYZE_AFTER = 5_000  # rows written: then PostgreSQL's row estimates are refreshed (see _estimated)


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
        """Every link with its merge base, decoded compactly (see `compact_bases`)."""
        query = select(
            _LINKS.c.left_id, _LINKS.c.right_id, cast(_LINKS.c.base_left, Text), cast(_LINKS.c.base_right, Text)
        ).where(_LINKS.c.connection == connection)
        links: list[Link] = []
        with self._tx() as tx, collector_paused():
            result = tx.execute(query)
            while rows := result.fetchmany(_DECODED):
                bases = compact_bases([text for row in rows for text in (row[2], row[3])])
                links += [Link(row[0], row[1], Base(*bases[2 * i : 2 * i + 2])) for i, row in enumerate(rows)]
        return links

    def _estimated(self, tx: Any, table: str, written: int) -> None:
        """After bulk writes, refresh PostgreSQL's row estimates of the table.

        The digest lookups (400 ids at a time) are planned from them: right after a first sync filled the
        table, before autovacuum analyzed it (or with autovacuum off), PostgreSQL believes it nearly empty
        and filters a whole side per lookup instead of using the primary key (about 1 s per 400 ids at
        100,000 records: minutes per run). A run writes its records in batches (the executor's, the
        indexer's), so the rows written by this process are added up: ANALYZE (a sample, well under a
        second) once they reach 5,000, then each time they double, a handful of times per initial sync."""
        if tx.dialect.name != "postgresql" or not written:
            return
        total = self.rows_written[table] = self.rows_written.get(table, 0) + written
        if total >= max(_ANALYZE_AFTER, 2 * self.rows_analyzed.get(table, 0)):
            tx.execute(text(f"ANALYZE {table}"))
            self.rows_analyzed[table] = total

    def count_links(self, connection: str) -> int:
        """How many links the connection has, without decoding them (a run's report counts them)."""
        with self._tx() as tx:
            query = select(func.count()).select_from(_LINKS).where(_LINKS.c.connection == connection)
            return int(tx.execute(query).scalar_one())

    def save_links(self, connection: str, links: Iterable[Link]) -> None:
        """Insert or replace links (by either id) with their new merge base, in one transaction.

        A link saved before with the same ids and the same base is left as it is."""
        with collector_paused():
            self._save_links(connection, {(link.left_id, link.right_id): link for link in links})

    def _save_links(self, connection: str, latest: dict[tuple[str, str], Link]) -> None:
        now = utcnow()
        rows = [
            {
                "connection": connection,
                "left_id": link.left_id,
                "right_id": link.right_id,
                "base_left": link.base.left,
                "base_right": link.base.right,
                "digest": digest([link.base.left, link.base.right]),
                "created_at": now,
                "updated_at": now,
            }
            for link in latest.values()
        ]
        with self._tx() as tx:
            written = 0
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                candidates = [row["left_id"] for row in chunk]
                saved = {
                    tuple(row)
                    for row in tx.execute(
                        select(_LINKS.c.left_id, _LINKS.c.right_id, _LINKS.c.digest).where(
                            _LINKS.c.connection == connection, _LINKS.c.left_id.in_(candidates)
                        )
                    )
                }
                chunk = [row for row in chunk if (row["left_id"], row["right_id"], row["digest"]) not in saved]
                if not chunk:
                    continue
                lefts = [str(row["left_id"]) for row in chunk]
                rights = [str(row["right_id"]) for row in chunk]
                replaced = (
                    _LINKS.c.connection == connection,
                    _LINKS.c.left_id.in_(lefts) | _LINKS.c.right_id.in_(rights),
                )
                query = select(_LINKS.c.left_id, _LINKS.c.right_id).where(*replaced)
                old = [(str(left), str(right)) for left, right in tx.execute(query)]
                tx.execute(delete(_LINKS).where(*replaced))
                tx.execute(_LINKS.insert(), chunk)
                written += len(chunk)
                # the record index says which records are linked (the dashboard's synced / not synced filter)
                _mark_linked(tx, connection, "left", {left for left, _ in old} - set(lefts), False)
                _mark_linked(tx, connection, "right", {right for _, right in old} - set(rights), False)
                _mark_linked(tx, connection, "left", lefts, True)
                _mark_linked(tx, connection, "right", rights, True)
            self._estimated(tx, _LINKS.name, written)

    def remember(self, connection: str, side: str, records: Sequence[Record], match_field: str) -> None:
        """Save the last seen state of records (bulk upsert of those that changed since they were saved)."""
        if not records:
            return
        with collector_paused():
            self._remember(connection, side, list({r.id: r for r in records}.values()), match_field)

    def _remember(self, connection: str, side: str, records: list[Record], match_field: str) -> None:
        """`records`: one state per id (the last one wins). Rows are built only for records that changed."""
        keys = [match_key(r.get(match_field)) for r in records]
        digests = [_seen_digest(r, key) for r, key in zip(records, keys, strict=True)]
        column = _LINKS.c.left_id if side == "left" else _LINKS.c.right_id
        linked = exists().where(_LINKS.c.connection == bindparam("link_connection"), column == bindparam("link_id"))
        statement = self._upsert(_SEEN).values(linked=linked)
        statement = statement.on_conflict_do_update(
            index_elements=["connection", "side", "record_id"],
            set_={k: statement.excluded[k] for k in _SEEN_STATE},
        )
        with self._tx() as tx:
            changed: list[dict[str, Any]] = []
            for start in range(0, len(records), _CHUNK):
                ids = [r.id for r in records[start : start + _CHUNK]]
                query = select(_SEEN.c.record_id, _SEEN.c.digest).where(
                    _SEEN.c.connection == connection, _SEEN.c.side == side, _SEEN.c.record_id.in_(ids)
                )
                saved: dict[str, str | None] = {str(row[0]): row[1] for row in tx.execute(query)}
                changed += [
                    _seen_row(connection, side, records[i], keys[i], digests[i])
                    for i in range(start, start + len(ids))
                    if saved.get(records[i].id) != digests[i]
                ]
            if changed:
                tx.execute(statement, changed)  # one compiled statement, sent in batches by the driver
                self._estimated(tx, _SEEN.name, len(changed))

    def seen(self, connection: str, side: str, skip: Container[str] = ()) -> dict[str, Record]:
        """Every record of a side as last seen, by id (fields decoded when first read).

        `skip`: ids the caller has newer states of (a run's read): their stored rows are left out,
        so a full re-read does not hold every stored record beside the one it just read."""
        query = select(
            _SEEN.c.record_id,
            cast(_SEEN.c.fields, Text),
            cast(_SEEN.c.tags, Text),
            cast(_SEEN.c.updated, Text) if self.engine.dialect.name == "sqlite" else _SEEN.c.updated,
            _SEEN.c.deleted,
            _SEEN.c.unsubscribed,
        ).where(_SEEN.c.connection == connection, _SEEN.c.side == side)
        with self._tx() as tx, collector_paused():
            return {
                record_id: Record(
                    id=record_id,
                    fields=JsonFields(fields) if isinstance(fields, str) else fields,
                    updated=stored_time(updated),
                    deleted=bool(deleted),
                    tags=frozenset(stored_json(tags)) if tags != "[]" else _NO_TAGS,
                    unsubscribed=bool(unsubscribed),
                )
                for record_id, fields, tags, updated, deleted, unsubscribed in tx.execute(query)
                if record_id not in skip
            }

    def count_unlinked(self, connection: str, side: str) -> int:
        """Live records of a side in the index that no link pairs, counted by the database: `pairsync status`
        and the API need the figure, not the records (decoding them took seconds at 100,000)."""
        own_id = _LINKS.c.left_id if side == "left" else _LINKS.c.right_id
        paired = exists().where(_LINKS.c.connection == connection, own_id == _SEEN.c.record_id)
        query = (
            select(func.count())
            .select_from(_SEEN)
            .where(_SEEN.c.connection == connection, _SEEN.c.side == side, _SEEN.c.deleted.is_(False), ~paired)
        )
        with self._tx() as tx:
            return int(tx.execute(query).scalar_one())

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


def _seen_digest(record: Record, key: str | None) -> str:
    return digest((key, record.fields, sorted(record.tags), record.updated, record.deleted, record.unsubscribed))


def _seen_row(connection: str, side: str, record: Record, key: str | None, fingerprint: str) -> dict[str, Any]:
    return {
        "connection": connection,
        "side": side,
        "record_id": record.id,
        "match_key": key,
        "fields": dict(record.fields),
        "tags": sorted(record.tags),
        "updated": record.updated,
        "deleted": record.deleted,
        "unsubscribed": record.unsubscribed,
        "search": search_text(record.fields),
        "digest": fingerprint,
        "link_connection": connection,
        "link_id": record.id,
    }
