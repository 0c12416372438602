"""The queue's schema: Procrastinate's tables installed and upgraded in the state database, under one lock.

`pairsync migrate CONFIG` (and every `worker` and `serve --workers 0` at start)
brings pairsync's tables and the queue's to the installed versions in one step.
The installed Procrastinate version is kept as a comment on its jobs table;
an upgrade applies the migration files Procrastinate ships for the versions
in between, in order. Stop the workers before upgrading Procrastinate.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

from procrastinate.schema import SchemaManager
from sqlalchemy import Engine

MIGRATION_LOCK = 0x70A1_5C2E  # pg_advisory_xact_lock key: one schema change at a time across processes
_VERSION_COMMENT = re.compile(r"^procrastinate (?P<version>[\d.]+)$")
_MIGRATION_FILE = re.compile(r"^(?P<version>\d+\.\d+\.\d+)_\d+_.*\.sql$")


def installed_version() -> tuple[int, ...]:
    return _parse(version("procrastinate"))


def apply_queue_schema(engine: Engine) -> str:
    """Install or upgrade the queue schema; says what it did (for `pairsync migrate`)."""
    target = installed_version()
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.transaction():
            driver.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            current = _current(driver)
            if current is None:
                driver.execute(SchemaManager.get_schema())
                done = f"queue schema installed (procrastinate {_text(target)})"
            elif current < target:
                for path in _migrations_between(current, target):
                    driver.execute(path.read_text())
                done = f"queue schema upgraded from procrastinate {_text(current)} to {_text(target)}"
            else:
                return f"queue schema up to date (procrastinate {_text(current)})"
            driver.execute(f"COMMENT ON TABLE procrastinate_jobs IS 'procrastinate {_text(target)}'")
    finally:
        raw.close()
    return done


def _current(driver: Any) -> tuple[int, ...] | None:
    row = driver.execute("SELECT to_regclass('procrastinate_jobs')::oid").fetchone()
    if row is None or row[0] is None:
        return None
    comment = driver.execute("SELECT obj_description(%s, 'pg_class')", (row[0],)).fetchone()
    found = _VERSION_COMMENT.match((comment[0] if comment else None) or "")
    if found is None:
        raise RuntimeError(
            "procrastinate_jobs exists but was not installed by pairsync (no version comment); "
            "apply Procrastinate's migrations by hand, then run `pairsync migrate` again"
        )
    return _parse(found["version"])


def _migrations_between(current: tuple[int, ...], target: tuple[int, ...]) -> list[Path]:
    folder = Path(SchemaManager.get_migrations_path())
    chosen = []
    for path in sorted(folder.glob("*.sql")):
        found = _MIGRATION_FILE.match(path.name)
        if found and current < _parse(found["version"]) <= target:
            chosen.append(path)
    return chosen


def _parse(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _text(parts: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in parts)
