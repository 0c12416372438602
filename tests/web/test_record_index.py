"""The record index's `linked` flag and `search` text, which keep "not synced" and search on indexes.

Invariant: after any sequence of saves and relinks, a seen record is flagged linked exactly when a link
holds it (Hypothesis), whatever the order of `remember` and `save_links`. Databases made before the
flag existed are backfilled by the migration.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from engine.planner.model import Base, Link
from engine.records import Record
from engine.state.links import search_text
from engine.state.store import StateStore
from engine.web import queries


def flags(store: StateStore) -> dict[tuple[str, str], bool]:
    with store.engine.begin() as tx:
        rows = tx.execute(text("SELECT side, record_id, linked FROM seen_records WHERE connection = 'c'"))
        return {(side, rid): bool(linked) for side, rid, linked in rows}


def truth(store: StateStore) -> dict[tuple[str, str], bool]:
    links = store.links("c")
    linked = {("left", link.left_id) for link in links} | {("right", link.right_id) for link in links}
    return {key: key in linked for key in flags(store)}


steps = st.lists(
    st.one_of(
        st.tuples(st.just("remember"), st.sampled_from(["left", "right"]), st.integers(0, 4)),
        st.tuples(st.just("link"), st.integers(0, 4), st.integers(0, 4)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_the_linked_flag_follows_the_links_whatever_the_order(sequence: list[tuple[str, object, int]]) -> None:
    store = StateStore("sqlite://")
    try:
        for step in sequence:
            if step[0] == "remember":
                side, n = str(step[1]), step[2]
                prefix = "L" if side == "left" else "R"
                store.remember("c", side, [Record(f"{prefix}{n}", {"email": f"p{n}@example.com"})], "email")
            else:
                store.save_links("c", [Link(f"L{step[1]}", f"R{step[2]}", Base())])
        assert flags(store) == truth(store)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"email": "Ada@Example.com", "name": "Ada Lovelace"}, "ada lovelace ada@example.com"),
        ({"first_name": "Ada", "last_name": "King", "phone": "+44"}, "ada king"),
        ({"names.displayName": "Grace", "emailAddresses.value": "g@x.org"}, "grace g@x.org"),
        ({"phone": "+44", "amount": 3}, None),
    ],
)
def test_search_text_holds_names_first_then_email(fields: dict[str, object], expected: str | None) -> None:
    assert search_text(fields) == expected


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("R7", {("right", "R7")}),  # an id
        ("p3@EXAMPLE.com", {("left", "L3"), ("right", "R3")}),  # an email, any case
        ("p3@", {("left", "L3"), ("right", "R3")}),  # the start of an email
        ("Person 5", {("left", "L5"), ("right", "R5")}),  # the start of a name
        ("Jones", {("left", "L2"), ("right", "R2")}),  # a word inside a name
        ("nobody", set()),
    ],
)
def test_search_finds_by_id_email_or_name(store: StateStore, q: str, found: set[tuple[str, str]]) -> None:
    for side, prefix in (("left", "L"), ("right", "R")):
        people = [Record(f"{prefix}{n}", {"email": f"p{n}@example.com", "name": f"Person {n}"}) for n in range(10)]
        people[2] = Record(f"{prefix}2", {"email": "p2@example.com", "name": "Person 2 Jones"})
        store.remember("c", side, people, "email")
    page = queries.records(store, "c", None, q)
    assert {(r["side"], r["id"]) for r in page.rows} == found


def test_a_relink_moves_the_flag_on_both_databases(store: StateStore) -> None:
    """The executor saves a link before `remember` sees the record it created: both orders end right."""
    store.remember("c", "left", [Record("L1", {"name": "Ada"}), Record("L2", {"name": "Bob"})], "email")
    store.save_links("c", [Link("L1", "R1", Base())])
    store.remember("c", "right", [Record("R1", {"name": "Ada"})], "email")
    store.save_links("c", [Link("L2", "R1", Base())])
    assert flags(store) == {("left", "L1"): False, ("left", "L2"): True, ("right", "R1"): True}
    assert [r["id"] for r in queries.records(store, "c", False).rows] == ["L1"]


def test_the_migration_backfills_databases_made_before_the_flag(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(__file__).parents[2] / "engine/state/migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text(
            "INSERT INTO seen_records (connection, side, record_id, match_key, fields, tags, deleted, unsubscribed) "
            "VALUES ('c', 'left', 'L1', 'a@x.org', '{\"name\": \"Ada\", \"email\": \"a@x.org\"}', '[]', 0, 0),"
            " ('c', 'left', 'L2', NULL, '{\"name\": \"Bob\"}', '[]', 0, 0)"
        ))
        connection.execute(text(
            "INSERT INTO links (connection, left_id, right_id, base_left, base_right, created_at, updated_at) "
            "VALUES ('c', 'L1', 'R1', '{}', '{}', '2026-01-01', '2026-01-01')"
        ))
    engine.dispose()
    store = StateStore(url)
    with store.engine.begin() as tx:
        rows = tx.execute(text("SELECT record_id, linked, search FROM seen_records ORDER BY record_id")).all()
    backfilled = [(r, bool(linked), search) for r, linked, search in rows]
    assert backfilled == [("L1", True, "ada a@x.org"), ("L2", False, "bob")]
    store.close()
