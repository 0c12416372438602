"""The run lock: renewed while a run lives, never taken from a live holder, taken from a dead one.

Before the heartbeat a lock lived 30 minutes whatever happened, and an expired
lock was taken whether or not its holder still ran: an initial sync longer than
that shared its connection with the next cron run, and both created the same
contacts. Each rule of the lock is pinned here, then the run that lost its lock
is shown to stop before its next write batch.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text

from bench.harness import CONNECTION, Pair
from engine.state import tables as t
from engine.state.database import normalise_url
from engine.state.locks import LockLost
from engine.state.store import StateStore

LOCKS = t.Lock.__table__  # type: ignore[attr-defined]
HOST = socket.gethostname()
FRESH, STALE = timedelta(minutes=2), timedelta(seconds=-1)


def dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


@pytest.mark.parametrize(
    ("holder", "heartbeat", "taken_over"),
    [
        (f"{HOST}:{os.getpid()}:live0001", STALE, False),  # alive on this host: never overtaken, however old
        (f"{HOST}:{os.getpid()}:live0002", FRESH, False),
        (f"{HOST}:{{dead}}:gone0001", FRESH, True),  # its process is gone: taken at once
        ("elsewhere:4242:remote01", FRESH, False),  # another host, heartbeat fresh: alive as far as we know
        ("elsewhere:4242:remote02", STALE, True),  # another host, heartbeat stale: dead
    ],
)
def test_who_may_take_a_run_lock(store: StateStore, holder: str, heartbeat: timedelta, taken_over: bool) -> None:
    holder = holder.format(dead=dead_pid())
    assert store.acquire("run:c", holder, ttl=heartbeat)
    assert store.acquire("run:c", f"{HOST}:{os.getpid()}:newcomer") is taken_over


def expires_at(store: StateStore, name: str) -> Any:
    with store.engine.begin() as tx:
        return tx.execute(select(LOCKS.c.expires_at).where(LOCKS.c.name == name)).scalar_one()


def test_a_held_lock_is_renewed_while_its_holder_works(store: StateStore) -> None:
    held = store.hold("run:c", ttl=timedelta(milliseconds=40))
    assert held is not None
    first = expires_at(store, "run:c")
    with held:
        deadline = time.monotonic() + 30
        while expires_at(store, "run:c") == first and time.monotonic() < deadline:
            time.sleep(0.005)
        assert expires_at(store, "run:c") > first, "the heartbeat never renewed the lock"
        held.check()  # still ours
    assert store.acquire("run:c", "next"), "released on exit"


def test_a_lock_taken_over_is_reported_lost_at_the_next_check(store: StateStore) -> None:
    held = store.hold("run:c")
    assert held is not None
    with held:
        with store.engine.begin() as tx:  # another host decided this holder was dead
            tx.execute(LOCKS.update().where(LOCKS.c.name == "run:c").values(holder="elsewhere:1:thief"))
        with pytest.raises(LockLost, match="lost its lock"):
            held.check()
        assert held.lost


def test_a_run_finds_the_lock_of_a_live_expired_holder_busy(tmp_path: Path) -> None:
    with Pair(tmp_path) as pair:
        pair.stripe.add_record({"name": "Ann Lee", "email": "ann@example.com"})
        loaded = pair.load()
        store = pair.store(loaded)
        store.acquire(f"run:{CONNECTION}", f"{HOST}:{os.getpid()}:longrun1", ttl=STALE)
        report = pair.run(loaded, store)
        assert report.status == "busy"
        assert pair.google.records() == []


def test_a_run_that_lost_its_lock_stops_before_its_next_write_batch(tmp_path: Path) -> None:
    with Pair(tmp_path) as pair:
        for i in range(450):  # three Google batches of at most 200
            pair.stripe.add_record({"name": f"Person {i}", "email": f"p{i}@example.com"})
        loaded = pair.load()
        store = pair.store(loaded)
        stolen = {"done": False}

        def steal_after_first_batch(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            """The first links saved: another run takes the lock over in the same transaction."""
            if not stolen["done"] and statement.lstrip().upper().startswith("INSERT INTO LINKS"):
                stolen["done"] = True
                cursor.execute("UPDATE locks SET holder = 'elsewhere:1:thief'")

        event.listen(store.engine, "before_cursor_execute", steal_after_first_batch)
        report = pair.run(loaded, store)
        assert report.status == "error" and "lost its lock" in str(report.error)
        assert len(pair.google.records()) == 200, "only the batch written before the lock was lost"


# migrations --------------------------------------------------------------------------------------------------


def test_first_runs_at_once_against_a_fresh_postgresql_migrate_one_after_the_other(postgres_url: str) -> None:
    """Three processes opening one fresh database at once: before the advisory lock one or two died with
    `IntegrityError ... CREATE TABLE alembic_version`."""
    code = "import sys; from engine.state.store import StateStore; StateStore(sys.argv[1]).close()"
    for round_ in range(3):
        url = postgres_url if round_ == 0 else fresh_schema(postgres_url, round_)
        starts = [
            subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(3)
        ]
        errors = [p.communicate(timeout=120)[1] for p in starts]
        assert [p.returncode for p in starts] == [0, 0, 0], errors


def fresh_schema(url: str, number: int) -> str:
    base, _, options = url.partition("?")
    schema = options.rsplit("%3D", 1)[1] + f"_{number}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(text(f"create schema {schema}"))
    admin.dispose()
    return f"{base}?options=-csearch_path%3D{schema}"


HOLD_AND_BEAT = """
import sys, time
from datetime import timedelta
from engine.state.store import StateStore
held = StateStore(sys.argv[1]).hold("run:c", ttl=timedelta(milliseconds=8))  # renews every 2 ms
held.__enter__()
print("held", flush=True)
time.sleep(600)
"""


def test_a_holder_killed_while_its_heartbeat_renews_is_replaced_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_AND_BEAT, url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        first = expires_at(store, "run:c")
        deadline = time.monotonic() + 30
        while expires_at(store, "run:c") == first and time.monotonic() < deadline:
            time.sleep(0.001)
        assert not store.acquire("run:c", f"{HOST}:{os.getpid()}:waiting"), "a live, renewing holder keeps it"
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert store.acquire("run:c", f"{HOST}:{os.getpid()}:next"), "its process is gone: taken at once"
    with store.engine.begin() as tx:
        assert tx.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    store.close()
