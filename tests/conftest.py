"""Shared fixtures: state stores on SQLite and, when a server answers, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.state.store import StateStore, normalise_url

POSTGRES_URL = os.environ.get("PAIRSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_answers() -> bool:
    try:
        engine = create_engine(normalise_url(POSTGRES_URL), connect_args={"connect_timeout": 2})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure means: no server to test against
        return False
    return True


POSTGRES = _postgres_answers()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server, dropped afterwards."""
    if not POSTGRES:
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
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
