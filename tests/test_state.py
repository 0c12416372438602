"""The state store on SQLite and PostgreSQL: links and bases, the record index, cursors, journal, runs, locks."""

from __future__ import annotations

from collections.abc import Container, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine

from engine.cli.status import connection_status
from engine.planner.model import Base, Link
from engine.records import Record
from engine.state.store import StateStore


def test_migrations_create_every_table(store: StateStore) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "links",
        "seen_records",
        "cursors",
        "journal",
        "runs",
        "run_events",
        "retries",
        "credentials",
        "locks",
        "alembic_version",
    } <= tables


@contextmanager
def schema_changes() -> Iterator[list[str]]:
    """The DDL statements (and alembic version writes) any engine sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.lstrip().split(None, 3)
        if (words and words[0].upper() in ("CREATE", "ALTER", "DROP")) or ("alembic_version" in statement and (
            words[0].upper() in ("INSERT", "UPDATE")
        )):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_opening_twice_migrates_once(state_url: str) -> None:
    with schema_changes() as first:
        StateStore(state_url).close()
    assert any("CREATE TABLE" in statement.upper() for statement in first), "the first open creates the tables"
    with schema_changes() as second:
        again = StateStore(state_url)
        assert again.links("x") == []
        again.close()
    assert second == [], "opening a migrated store changes no schema"


def test_links_keep_their_base_and_replace_by_either_id(store: StateStore) -> None:
    store.save_links("c", [Link("L1", "R1", Base({"name|name": "Ada"}, {"name|name": "Ada"}))])
    store.save_links("c", [Link("L1", "R2", Base({"name|name": "Ada K"}, {"name|name": "Ada K"}))])
    assert store.links("c") == [Link("L1", "R2", Base({"name|name": "Ada K"}, {"name|name": "Ada K"}))]
    assert store.links("other") == []


def test_record_index_upserts_and_keeps_the_last_state(store: StateStore) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    store.remember("c", "left", [Record("L1", {"email": " Ada@Example.com "}, when)], "email")
    store.remember(
        "c",
        "left",
        [
            Record("L1", {"email": "ada@example.com", "name": "Ada"}, when, tags=frozenset({"x"})),
            Record("L1", {"email": "ada@example.com", "name": "Ada L"}, when),
        ],
        "email",
    )
    seen = store.seen("c", "left")
    assert seen["L1"].fields == {"email": "ada@example.com", "name": "Ada L"}
    assert seen["L1"].updated == when
    assert store.count_seen("c", "left") == 1


def test_unlinked_records_are_counted_by_the_database(store: StateStore) -> None:
    """Live records no link pairs, per side and connection: a deleted record, a link to a record the index
    does not hold and another connection's records do not count."""
    store.remember("c", "left", [Record("L1", {}), Record("L2", {}), Record("L3", {}, deleted=True)], "email")
    store.remember("c", "right", [Record("R1", {}), Record("R2", {})], "email")
    store.remember("other", "left", [Record("L4", {})], "email")
    store.save_links("c", [Link("L1", "R1", Base({}, {})), Link("L9", "R2", Base({}, {}))])
    counts = [store.count_unlinked(*where) for where in (("c", "left"), ("c", "right"), ("other", "left"))]
    assert (counts, store.count_links("c")) == ([1, 0, 1], 2)


class _Unloadable(StateStore):
    def links(self, connection: str) -> list[Link]:
        raise AssertionError("status decoded every link")

    def seen(self, connection: str, side: str, skip: Container[str] = ()) -> dict[str, Record]:
        raise AssertionError("status decoded the record index")


def test_status_counts_without_loading_links_or_records(state_url: str) -> None:
    store = _Unloadable(state_url)
    store.remember("c", "left", [Record("L1", {}), Record("L2", {})], "email")
    store.save_links("c", [Link("L1", "R1", Base({}, {}))])
    status = connection_status(store, "c")
    store.close()
    assert (status["linked"], status["unlinked"]) == (1, {"left": 1, "right": 0})


def test_cursors_hold_json_values(store: StateStore) -> None:
    assert store.cursor("c", "left") is None
    store.save_cursor("c", "left", {"token": "abc", "fields": ["names"]})
    store.save_cursor("c", "left", {"token": "def", "fields": ["names"]})
    assert store.cursor("c", "left") == {"token": "def", "fields": ["names"]}


def test_the_journal_keeps_pending_intents_until_settled(store: StateStore) -> None:
    run = store.start_run("c")
    store.journal("c", run, [("k1", "right", "create", "L1"), ("k2", "left", "update", "L2")])
    store.journal("c", run, [("k1", "right", "create", "L1")])  # a known key is kept, not duplicated
    assert store.pending("c") == {("right", "create", "L1"): "k1", ("left", "update", "L2"): "k2"}
    store.settle([("k1", "R1", None), ("k2", "L2", "HTTP 500")])
    assert store.pending("c") == {}


def test_runs_events_and_secrets_scrubbed(store: StateStore) -> None:
    from engine.secrets import REDACTOR

    REDACTOR.add("sk_test_supersecretvalue")
    run = store.start_run("c", trigger="schedule")
    store.add_events(
        run,
        [
            {
                "side": "right",
                "record_id": "R1",
                "kind": "failed",
                "detail": {"error": "bad key sk_test_supersecretvalue"},
            }
        ],
    )
    store.finish_run(run, "failed", {"error": "auth sk_test_supersecretvalue"})
    [event] = store.events(run)
    assert event["detail"] == {"error": "bad key ***"}
    assert store.run(run)["summary"] == {"error": "auth ***"}
    assert store.runs("c")[0]["trigger"] == "schedule"


def test_retries_are_replaced_each_run(store: StateStore) -> None:
    store.set_retries("c", "left", {"L1": "boom", "L2": "boom"})
    store.set_retries("c", "left", {"L2": "boom again"})
    assert store.retries("c", "left") == ["L2"]


def test_credentials_persist_across_opens(state_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAIRSYNC_SECRET_KEY", "one key for every process of this test")
    first = StateStore(state_url)
    first.save_credential("qb", "refresh_token", "rt-1")
    first.save_credential("qb", "refresh_token", "rt-2")
    first.close()
    second = StateStore(state_url)
    assert second.credential("qb", "refresh_token") == "rt-2"
    second.close()


def test_a_lock_has_one_holder_until_released_or_expired(state_url: str) -> None:
    one, two = StateStore(state_url), StateStore(state_url)
    assert one.acquire("run:c", "one")
    assert not two.acquire("run:c", "two")
    assert one.acquire("run:c", "one"), "the holder may take it again"
    one.release("run:c", "one")
    assert two.acquire("run:c", "two", ttl=timedelta(seconds=-1))
    assert one.acquire("run:c", "one"), "an expired lock is taken over"
    one.close()
    two.close()


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_over(store: StateStore) -> None:
    import socket
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    assert store.acquire("run:c", f"{socket.gethostname()}:{dead_pid}:abcd1234")
    assert store.acquire("run:c", "live-holder"), "the holder's process is gone: its lock is taken over"
    assert not store.acquire("run:c", f"{socket.gethostname()}:{dead_pid}:abcd1234")


def test_a_lock_held_by_a_live_process_is_respected(store: StateStore) -> None:
    import os
    import socket

    assert store.acquire("run:c", f"{socket.gethostname()}:{os.getpid()}:abcd1234")
    assert not store.acquire("run:c", "someone-else")


def test_retries_count_the_runs_in_a_row_a_record_failed(store: StateStore) -> None:
    store.set_retries("c", "left", {"L1": "boom", "L2": "boom"})
    store.set_retries("c", "left", {"L1": "boom again"})
    store.set_retries("c", "left", {"L1": "boom", "L2": "boom"})
    assert {f["record_id"]: f["attempts"] for f in store.failures("c")} == {"L1": 3, "L2": 1}


def _writes(store: StateStore) -> list[str]:
    """The INSERT and DELETE statements the store sends from now on (the database's own view of the work)."""
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "DELETE")):
            sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    return sent


def test_saving_unchanged_state_again_writes_nothing(store: StateStore) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    ada = Record("L1", {"email": "ada@example.com", "plans": [{"product": "Pro"}]}, when, tags=frozenset({"vip"}))
    link = Link("L1", "R1", Base({"name|name": "Ada"}, {"name|name": "Ada"}))
    store.remember("c", "left", [ada], "email")
    store.save_links("c", [link])
    sent = _writes(store)
    store.remember("c", "left", list(store.seen("c", "left").values()), "email")
    store.save_links("c", store.links("c"))
    assert sent == []
    store.remember("c", "left", [Record("L1", {**ada.fields, "name": "Ada"}, when, tags=ada.tags)], "email")
    store.save_links("c", [Link("L1", "R1", Base({"name|name": "Ada L"}, {"name|name": "Ada"}))])
    assert len(sent) == 3  # the record's upsert, then the link's delete and insert
    assert store.seen("c", "left")["L1"].fields["name"] == "Ada"
    assert store.links("c")[0].base.left == {"name|name": "Ada L"}


def test_the_index_reads_back_what_was_remembered(store: StateStore) -> None:
    records = [
        Record("L1", {"email": "ada@example.com", "plans": [{"product": "Pro"}], "mrr": 9.5},
               datetime(2026, 1, 1, 8, 30, tzinfo=UTC), tags=frozenset({"vip", "b"}), unsubscribed=True),
        Record("L2", {"email": None}, None, deleted=True),
    ]
    store.remember("c", "left", records, "email")
    seen = store.seen("c", "left")
    assert [seen["L1"], seen["L2"]] == records
    assert dict(seen["L1"].fields) == dict(records[0].fields) and seen["L1"].get("mrr") == 9.5


def test_the_index_leaves_out_the_records_a_run_read(store: StateStore) -> None:
    """A full re-read has newer states of its records: holding the stored ones beside them only costs memory."""
    store.remember("c", "left", [Record(f"L{n}", {"email": f"{n}@example.com"}) for n in range(3)], "email")
    assert set(store.seen("c", "left", skip={"L0", "L2", "L9"})) == {"L1"}
    assert set(store.seen("c", "left")) == {"L0", "L1", "L2"}


def test_many_links_read_back_exactly_with_shared_values(store: StateStore) -> None:
    """Bases are decoded a thousand links at a time: keys, and equal texts or lists of texts, are one object each."""
    links = [
        Link(f"L{n}", f"R{n}", Base(
            {"name|a+b": ["Ada", f"L{n}"], "email|email": f"{n}@example.com", "n|n": n, "gone|gone": None},
            {"name|a+b": ["Ada", f"L{n}"], "email|email": f"{n}@EXAMPLE.com", "n|n": float(n), "__deleted__": True},
        ))
        for n in range(2500)
    ]
    store.save_links("c", links)
    returned = store.links("c")
    assert returned[0].base.left["name|a+b"][0] is returned[1].base.right["name|a+b"][0]  # "Ada", one string
    read = sorted(returned, key=lambda link: int(link.left_id[1:]))
    assert read == links
    assert [repr(link.base) for link in read] == [repr(link.base) for link in links]  # types kept (1 vs 1.0)
    assert read[7].base.left["name|a+b"] is read[7].base.right["name|a+b"]
    assert type(read[7].base.right["n|n"]) is float
    assert len({id(key) for link in read for key in link.base.left}) <= 3 * 4  # 4 keys per chunk of 1000, not 10,000


@pytest.mark.postgres
def test_a_bulk_write_leaves_postgresql_row_estimates_for_the_lookups_that_follow(postgres_url: str) -> None:
    """Unanalyzed after a first sync, PostgreSQL took the filled tables for empty and scanned a side per lookup."""
    store = StateStore(postgres_url)
    try:
        records = [Record(f"cus_{n}", {"email": f"p{n}@example.com"}) for n in range(6000)]
        store.remember("c", "left", records, "email")
        store.save_links("c", [Link(r.id, f"people/c{n}", Base()) for n, r in enumerate(records)])
        with store.engine.connect() as connection:
            estimates = dict(connection.execute(text(
                "select relname, reltuples from pg_class where oid in ('seen_records'::regclass, 'links'::regclass)"
            )).all())
        assert estimates == {"seen_records": 6000, "links": 6000}  # never analyzed: -1 (unknown), planned as tiny
    finally:
        store.close()
