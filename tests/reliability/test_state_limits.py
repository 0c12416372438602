"""The state store takes a whole initial sync's worth of rows at once (the 100,000-record B1 found this).

On SQLite and on PostgreSQL, whose limit is the stricter one: 65,535 bound
parameters in one statement. Every bulk write of a run (journal intents,
their settling, the record index, links) must stay a statement the database
accepts however many rows it carries.
"""

from __future__ import annotations

from engine.planner.model import Base, Link
from engine.records import Record
from engine.state.store import StateStore

INTENTS = 40_000  # x 8 columns = 320,000 bound parameters: above SQLite's (250,000) and PostgreSQL's (65,535) limits
RECORDS = 12_000  # x 9 columns of the record index: 108,000 parameters


def test_a_plan_of_forty_thousand_writes_can_be_journaled_and_settled(store: StateStore) -> None:
    run_id = store.start_run("big")
    store.journal("big", run_id, [(f"big:{i}", "right", "create", f"cus_{i}") for i in range(INTENTS)])
    assert len(store.pending("big")) == INTENTS
    store.settle([(f"big:{i}", f"people/c{i}", None) for i in range(INTENTS)])
    assert store.pending("big") == {}


def test_a_whole_side_can_be_remembered_and_linked_at_once(store: StateStore) -> None:
    records = [Record(f"cus_{i}", {"email": f"p{i}@example.com", "name": f"P {i}"}) for i in range(RECORDS)]
    store.remember("big", "left", records, "email")
    assert store.count_seen("big", "left") == RECORDS
    links = [Link(f"cus_{i}", f"people/c{i}", Base({"email|email": f"p{i}@example.com"}, {})) for i in range(RECORDS)]
    store.save_links("big", links)
    assert len(store.links("big")) == RECORDS
