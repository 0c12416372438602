"""The state store: links and merge bases, the record index, cursors, the write journal, runs, retries.

SQLite by default, any SQLAlchemy URL (PostgreSQL tested) through `state:`.
Alembic migrates the schema on open. Bulk writes use the dialect's upsert.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, bindparam, create_engine, delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from engine.planner.model import Base, Link
from engine.records import Record, match_key
from engine.secrets import REDACTOR
from engine.state import tables as t
from engine.state.tables import utcnow

_LINKS = t.Link.__table__  # type: ignore[attr-defined]
_SEEN = t.SeenRecord.__table__  # type: ignore[attr-defined]
_CURSORS = t.Cursor.__table__  # type: ignore[attr-defined]
_JOURNAL = t.JournalEntry.__table__  # type: ignore[attr-defined]
_RUNS = t.Run.__table__  # type: ignore[attr-defined]
_EVENTS = t.RunEvent.__table__  # type: ignore[attr-defined]
_RETRIES = t.Retry.__table__  # type: ignore[attr-defined]
_CREDENTIALS = t.Credential.__table__  # type: ignore[attr-defined]
_LOCKS = t.Lock.__table__  # type: ignore[attr-defined]


_SEEN_STATE = ("match_key", "fields", "tags", "updated", "deleted", "unsubscribed")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain PostgreSQL URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        memory = url in {"sqlite://", "sqlite:///:memory:"}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
            json_serializer=_dumps,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=_dumps)


def _dumps(value: Any) -> str:
    """JSON columns accept what connectors hand over: dates and decimals become text."""
    return json.dumps(value, default=str)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("engine.state") / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class StateStore:
    """Everything a connection remembers between runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self._upsert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()

    # links and merge bases -------------------------------------------------

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
                    updated=_aware(r["updated"]),
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

    # cursors ----------------------------------------------------------------

    def cursor(self, connection: str, side: str) -> Any:
        with self._tx() as tx:
            row = tx.execute(
                select(_CURSORS.c.value).where(_CURSORS.c.connection == connection, _CURSORS.c.side == side)
            ).first()
            return row[0] if row else None

    def save_cursor(self, connection: str, side: str, value: Any) -> None:
        with self._tx() as tx:
            statement = self._upsert(_CURSORS).values(
                connection=connection, side=side, value=value, updated_at=utcnow()
            )
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["connection", "side"],
                    set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
                )
            )

    def pending(self, connection: str) -> dict[tuple[str, str, str], str]:
        """Unfinished write intents: (side, kind, source id) -> key."""
        with self._tx() as tx:
            rows = tx.execute(
                select(_JOURNAL.c.side, _JOURNAL.c.kind, _JOURNAL.c.source_id, _JOURNAL.c.key).where(
                    _JOURNAL.c.connection == connection, _JOURNAL.c.status == "pending"
                )
            )
            return {(side, kind, source or ""): key for side, kind, source, key in rows}

    def journal(self, connection: str, run_id: int, intents: Sequence[tuple[str, str, str, str]]) -> None:
        """Record write intents (key, side, kind, source id) before they are sent; a known key is kept."""
        now = utcnow()
        rows = [
            {
                "key": key,
                "connection": connection,
                "side": side,
                "kind": kind,
                "source_id": source,
                "status": "pending",
                "run_id": run_id,
                "created_at": now,
            }
            for key, side, kind, source in intents
        ]
        if not rows:
            return
        statement = self._upsert(_JOURNAL).on_conflict_do_nothing(index_elements=["key"])
        with self._tx() as tx:
            tx.execute(statement, rows)  # executemany: no limit on the number of intents

    def settle(self, outcomes: Sequence[tuple[str, str | None, str | None]]) -> None:
        """Close journal entries: (key, target id, error or None), in one statement."""
        if not outcomes:
            return
        statement = (
            update(_JOURNAL)
            .where(_JOURNAL.c.key == bindparam("journal_key"))
            .values(
                status=bindparam("new_status"),
                target_id=bindparam("new_target"),
                error=bindparam("new_error"),
                finished_at=bindparam("new_finished"),
            )
        )
        now = utcnow()
        with self._tx() as tx:
            tx.execute(
                statement,
                [
                    {
                        "journal_key": key,
                        "new_status": "failed" if error else "done",
                        "new_target": target,
                        "new_error": REDACTOR.redact(error) if error else None,
                        "new_finished": now,
                    }
                    for key, target, error in outcomes
                ],
            )

    # runs -------------------------------------------------------------------

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
                .values(status=status, finished_at=utcnow(), summary=_json_safe(_redacted(summary)))
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
                        "detail": _json_safe(_redacted(e.get("detail", {}))),
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

    def events(self, run_id: int) -> list[dict[str, Any]]:
        with self._tx() as tx:
            rows = tx.execute(select(_EVENTS).where(_EVENTS.c.run_id == run_id).order_by(_EVENTS.c.id)).mappings()
            return [dict(r) for r in rows]

    # retries ----------------------------------------------------------------

    def retries(self, connection: str, side: str) -> list[str]:
        with self._tx() as tx:
            rows = tx.execute(
                select(_RETRIES.c.record_id).where(_RETRIES.c.connection == connection, _RETRIES.c.side == side)
            )
            return [r[0] for r in rows]

    def set_retries(self, connection: str, side: str, failures: dict[str, str]) -> None:
        """Replace the retry list of a side with this run's failures (record id -> error)."""
        with self._tx() as tx:
            tx.execute(delete(_RETRIES).where(_RETRIES.c.connection == connection, _RETRIES.c.side == side))
            if failures:
                tx.execute(
                    _RETRIES.insert(),
                    [
                        {
                            "connection": connection,
                            "side": side,
                            "record_id": rid,
                            "error": REDACTOR.redact(error),
                            "attempts": 1,
                            "last_failed_at": utcnow(),
                        }
                        for rid, error in failures.items()
                    ],
                )

    def failures(self, connection: str) -> list[dict[str, Any]]:
        with self._tx() as tx:
            return [dict(r) for r in tx.execute(select(_RETRIES).where(_RETRIES.c.connection == connection)).mappings()]

    # credentials ------------------------------------------------------------

    def credential(self, account: str, key: str) -> str | None:
        with self._tx() as tx:
            row = tx.execute(
                select(_CREDENTIALS.c.value).where(_CREDENTIALS.c.account == account, _CREDENTIALS.c.key == key)
            ).first()
        if row is None:
            return None
        REDACTOR.add(row[0])
        return str(row[0])

    def save_credential(self, account: str, key: str, value: str) -> None:
        REDACTOR.add(value)
        with self._tx() as tx:
            statement = self._upsert(_CREDENTIALS).values(account=account, key=key, value=value)
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["account", "key"], set_={"value": statement.excluded.value}
                )
            )

    # locks ------------------------------------------------------------------

    def acquire(self, name: str, holder: str, ttl: timedelta = timedelta(minutes=30)) -> bool:
        """Take a named lock unless another holder has it and it has not expired."""
        now = utcnow()
        with self._tx() as tx:
            tx.execute(delete(_LOCKS).where(_LOCKS.c.name == name, _LOCKS.c.expires_at < now))
            try:
                with tx.begin_nested():
                    tx.execute(_LOCKS.insert().values(name=name, holder=holder, expires_at=now + ttl))
            except IntegrityError:
                row = tx.execute(select(_LOCKS.c.holder).where(_LOCKS.c.name == name)).first()
                if row is None or row[0] == holder:
                    return True
                if not _holder_gone(row[0]):
                    return False
                tx.execute(
                    update(_LOCKS)
                    .where(_LOCKS.c.name == name, _LOCKS.c.holder == row[0])
                    .values(holder=holder, expires_at=now + ttl)
                )
        return True

    def release(self, name: str, holder: str) -> None:
        with self._tx() as tx:
            tx.execute(delete(_LOCKS).where(_LOCKS.c.name == name, _LOCKS.c.holder == holder))


_PROCESS_HOLDER = re.compile(r"^(?P<host>[^:]+):(?P<pid>\d+):")


def process_holder() -> str:
    """A lock holder name that says which process holds it, so a dead holder's lock can be taken over."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_gone(holder: str) -> bool:
    """True when the holder is a process on this host that no longer runs (killed, crashed)."""
    match = _PROCESS_HOLDER.match(holder)
    if match is None or match["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTOR.redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value
