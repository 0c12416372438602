"""The state database: engine, dialect-aware upserts, migrations, and helpers shared by every part of the store."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool

from engine.secrets import REDACTOR
from engine.state.problems import explain


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
        if not memory:
            create_private_file(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
            json_serializer=_dumps,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=_dumps)


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (`sqlite:///path` or a `file:` URI); None for an in-memory database."""
    path = url.split(":///", 1)[-1].split("?", 1)[0]
    path = path.removeprefix("file:")
    if not path or path.startswith(":"):
        return None
    return path


def create_private_file(url: str) -> None:
    """Create a SQLite state file readable by its owner only (it holds links, history and sealed secrets).

    SQLite gives its -wal and -shm files the database file's mode.
    """
    path = sqlite_path(url)
    if path is None or os.path.exists(path) or "mode=ro" in url:
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _dumps(value: Any) -> str:
    """JSON columns accept what connectors hand over: dates and decimals become text."""
    return json.dumps(value, default=str)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


MIGRATION_LOCK = 0x70617273796E63  # "pairsync": the PostgreSQL advisory lock key every migrating process takes


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision.

    On PostgreSQL the migration runs under a transaction-scoped advisory lock, so processes opening a fresh
    database at once migrate one after the other (the others then find the schema current) instead of
    racing to create the same tables. SQLite serialises writers by itself.
    """
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("engine.state") / "migrations"))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An open state database; each part of the store (links, journal, runs ...) reads and writes through it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._upsert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self.rows_written: dict[str, int] = {}  # per table, by this process: when to refresh estimates (links.py)
        self.rows_analyzed: dict[str, int] = {}

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; a damaged, read-only or full database becomes StateUnusable (no SQL in it)."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except IntegrityError:
            raise  # the store's own business (a lock already taken)
        except DBAPIError as error:
            raise explain(error, self.url) or error from None

    def close(self) -> None:
        self.engine.dispose()


def json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def redacted(value: Any) -> Any:
    """A copy with every known secret scrubbed, so nothing secret reaches the run history."""
    if isinstance(value, str):
        return REDACTOR.redact(value)
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value
