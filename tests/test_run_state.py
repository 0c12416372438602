"""What a run keeps of the stored state: the stored copy of a record it has just read is never loaded beside it.

A full re-read replaces every stored record with the one it read, so holding both costs memory for
nothing (at 100,000 linked records, most of the engine's peak). Records the read did not return (an
incomplete listing, or one deleted in the app) still come from the stored index, and a record read
unchanged is not written again: the store compares its digest with the saved one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from engine.planner.model import SIDES, Side
from engine.runner import Session, SideRead
from tests.test_executor import Pair


@pytest.fixture
def synced(tmp_path: Path, state_url: str) -> Iterator[Pair]:
    made = Pair(tmp_path, state_url)
    for person in ("ada", "grace", "alan"):
        made.left.add({"email": f"{person}@example.com", "name": person.title()})
    made.right.add({"email": "edsger@example.com", "name": "Edsger"})
    assert made.run().status == "ok"
    yield made
    made.close()


def _full_read(pair: Pair) -> tuple[Session, dict[Side, SideRead]]:
    session = Session(pair.loaded, pair.loaded.config.connections[0], pair.store)

    async def read() -> dict[Side, SideRead]:
        try:
            return {side: await session.read(side, True) for side in SIDES}
        finally:
            await session.aclose()

    return session, asyncio.run(read())


def test_a_full_re_read_holds_no_stored_copy_of_what_it_read(synced: Pair) -> None:
    session, reads = _full_read(synced)
    inputs = session.plan_input(reads, force=False)
    assert session.known == {"left": {}, "right": {}}
    assert {side: set(inputs.index[side]) for side in SIDES} == {side: set(reads[side].changes) for side in SIDES}


def test_a_record_the_read_did_not_return_still_comes_from_the_stored_index(synced: Pair) -> None:
    gone = next(rid for rid, r in synced.left.live().items() if r.fields["email"] == "grace@example.com")
    synced.left.delete(gone)
    session, reads = _full_read(synced)
    inputs = session.plan_input(reads, force=False)
    assert set(session.known["left"]) == {gone}
    assert inputs.index["left"][gone].fields["email"] == "grace@example.com"


def test_a_quiet_run_writes_no_record_of_the_index_again(synced: Pair) -> None:
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SEEN_RECORDS"):
            sent.append(statement)

    event.listen(synced.store.engine, "before_cursor_execute", count)
    assert synced.run(full=True).status == "ok"
    assert sent == []
    edited = next(iter(synced.left.live()))
    synced.left.edit(edited, {"name": "Changed"})
    assert synced.run(full=True).status == "ok"
    assert len(sent) == 2, "one bulk upsert per side: the edited record, and its copy updated on the right"
    assert synced.store.seen("sync", "left")[edited].fields["name"] == "Changed"


def test_a_report_shows_its_counts_not_its_records(tmp_path: Path, state_url: str) -> None:
    """A report holds the plan and what was written, every record's fields with them. Its repr says the counts:
    asyncio's runner writes out the repr of the value a run returns (seconds at 100,000 records, before the CLI
    can exit), and a repr in a log must not carry personal data."""
    pair = Pair(tmp_path, state_url)
    for number in range(300):
        pair.left.add({"email": f"person{number}@example.com", "name": f"Person {number}"})
    report = pair.run()
    shown = repr(report)
    assert report.status == "ok" and "300 operations" in shown and "created={'left': 0, 'right': 300}" in shown
    assert "@example.com" not in shown and len(shown) < 300
