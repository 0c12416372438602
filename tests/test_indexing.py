"""The indexer saves a run's records while its writes go out: read first, then written, so the newest wins."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.executor import Outcome
from engine.indexing import CHUNK, Indexer
from engine.longlived import run_scope, settle
from engine.records import Record
from engine.state.store import StateStore

FIELDS = {"left": "email", "right": "email"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    yield state
    state.close()


def person(n: int, version: str) -> Record:
    return Record(id=f"r{n}", fields={"email": f"p{n}@example.com", "note": version})


@pytest.mark.parametrize(
    ("read", "written", "stopped_early"),
    [
        (0, 0, False),
        (10, 3, False),
        (CHUNK * 2 + 500, CHUNK + 500, False),  # several chunks each way, while "writes" keep coming
        (CHUNK * 2 + 500, CHUNK + 500, True),  # the background pass is stopped before it is through
    ],
)
def test_the_last_state_saved_of_each_record_is_the_newest(
    store: StateStore, read: int, written: int, stopped_early: bool
) -> None:
    """Records read on the right, some of which the run then writes (a newer version, the same id)."""
    outcome = Outcome()
    reads = {"left": [], "right": [person(n, "as read") for n in range(read)]}

    async def run() -> None:
        indexer = Indexer(store, "c", FIELDS, reads, outcome)
        indexer.start()
        for n in range(written):  # batches come back while the indexer works
            outcome.written["right"].append(person(n * 2, "as written"))
            if n % 200 == 199:
                await asyncio.sleep(0.01)
        if stopped_early:
            await indexer.stop()
        await indexer.finish()

    asyncio.run(run())
    seen = store.seen("c", "right")
    newest = {r.id: r for r in [*reads["right"], *outcome.written["right"]]}
    assert {rid: r.fields["note"] for rid, r in seen.items()} == {rid: r.fields["note"] for rid, r in newest.items()}


def test_a_run_freezes_what_lives_as_long_as_it_and_hands_it_back_at_its_end() -> None:
    """Settled objects are out of the collector's scans while any run lasts; the last run's end returns them."""
    assert gc.get_freeze_count() == 0
    settle()  # outside a run: nothing happens
    assert gc.get_freeze_count() == 0
    with run_scope():
        with run_scope():  # a second run in the same process (the service)
            kept = [{"n": n} for n in range(1000)]
            settle()
            assert gc.get_freeze_count() >= len(kept)
        assert gc.get_freeze_count() >= len(kept), "the other run still lasts"
    assert gc.get_freeze_count() == 0


@pytest.mark.postgres
def test_postgresql_estimates_are_refreshed_when_small_batches_add_up(postgres_url: str) -> None:
    """A run saves its records 500 at a time (and links per write batch): none of those writes is large, but
    together they fill the table, and PostgreSQL must know it (or each digest lookup scans a whole side)."""
    store = StateStore(postgres_url)
    try:
        for batch in range(12):  # 6,000 rows in all, never more than 500 at once
            store.remember("c", "left", [person(n, "v") for n in range(batch * 500, batch * 500 + 500)], "email")
        with store.engine.connect() as connection:
            estimate = connection.execute(
                text("select reltuples from pg_class where relname = 'seen_records' and relnamespace = "
                     "(select oid from pg_namespace where nspname = current_schema())")
            ).scalar_one()
        assert estimate >= 5000
    finally:
        store.close()
