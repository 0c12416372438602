"""Shared fixtures: state stores on SQLite and, when a server answers, PostgreSQL.

Without a server the PostgreSQL tests are skipped, unless PAIRSYNC_REQUIRE_POSTGRES=1
(CI sets it): then a missing or broken server fails the run instead of hiding in skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from engine.state.store import StateStore, normalise_url

# Hypothesis: `ci` (the default) is derandomised, so a red run reproduces and CI is never flaky;
# `explore` (HYPOTHESIS_PROFILE=explore, nightly) draws fresh examples and keeps what it finds.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

POSTGRES_URL = os.environ.get("PAIRSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("PAIRSYNC_REQUIRE_POSTGRES", "") not in ("", "0")


def _postgres_problem() -> str | None:
    """None when the test server answers; otherwise why it does not."""
    try:
        engine = create_engine(normalise_url(POSTGRES_URL), connect_args={"connect_timeout": 2})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means: no server to test against
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


POSTGRES_PROBLEM = _postgres_problem()
POSTGRES = POSTGRES_PROBLEM is None


def pytest_sessionstart(session: pytest.Session) -> None:
    if REQUIRE_POSTGRES and not POSTGRES:
        raise pytest.UsageError(
            f"PAIRSYNC_REQUIRE_POSTGRES is set but PostgreSQL at {POSTGRES_URL} does not answer: {POSTGRES_PROBLEM}"
        )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server, dropped afterwards."""
    if not POSTGRES:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PAIRSYNC_REQUIRE_POSTGRES is set but PostgreSQL does not answer: {POSTGRES_PROBLEM}")
        pytest.skip(f"no PostgreSQL server answers on 127.0.0.1:5432 ({POSTGRES_PROBLEM})")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as connection:
        connection.execute(text(f"create schema {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"drop schema {schema} cascade"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    opened = StateStore(state_url)
    yield opened
    opened.close()
