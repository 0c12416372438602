"""A side pointed at another account starts afresh; a refused cursor falls back to a full listing (issue 18.6)."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from engine.config import load_config
from engine.planner.model import Create, Update
from engine.testing.memory import MemoryStore


def _point_left_at(sync: Any, store: str) -> None:
    sync.config["accounts"]["left"]["settings"]["store"] = store
    sync.path.write_text(yaml.safe_dump(sync.config))
    sync.loaded = load_config(sync.path)


def test_a_side_pointed_at_another_account_starts_afresh_and_never_reuses_its_links(make_sync: Any) -> None:
    sync = make_sync()
    sync.left.add({"email": "ada@x.io", "name": "Ada"})
    sync.run()
    ada_on_the_right = next(iter(sync.right.live()))
    name = f"other-{uuid.uuid4().hex[:8]}"
    other = MemoryStore.named(name)
    try:
        bob = other.add({"email": "bob@x.io", "name": "Bob"})  # the same id the old account's Ada had
        other.edit(bob, {"name": "Bob Smith"})  # a change after the old account's cursor
        _point_left_at(sync, name)

        planned = sync.plan()
        assert any("starts afresh on that side: 1 links" in note for note in planned.notes), planned.notes
        assert planned.plan.of(Update) == []
        creates = sorted((op.side, op.fields.get("email")) for op in planned.plan.of(Create))
        assert creates == [("left", "ada@x.io"), ("right", "bob@x.io")]  # two-way: both accounts get both
        report = sync.run()
        assert report.status == "ok" and report.plan.of(Update) == []
        assert sync.right.records[ada_on_the_right].fields["name"] == "Ada"  # not overwritten with Bob
        assert sorted(r["email"] for r in sync.fields("right")) == ["ada@x.io", "bob@x.io"]
        linked = {(other.records[link.left_id].fields["email"], sync.right.records[link.right_id].fields["email"])
                  for link in sync.store.links("c")}
        assert linked == {("ada@x.io", "ada@x.io"), ("bob@x.io", "bob@x.io")}
        assert sync.run().plan.operations == []  # settled: the next run sees the same account
    finally:
        MemoryStore.forget(name)


def test_a_refused_cursor_falls_back_to_a_full_listing_with_a_note(make_sync: Any) -> None:
    sync = make_sync()
    sync.left.add({"email": "ada@x.io", "name": "Ada"})
    sync.run()
    sync.store.save_cursor("c", "left", 999)  # a cursor this store never issued
    report = sync.run()
    assert report.status == "ok"
    assert report.notes == ["left: the saved cursor was refused (cursor 999 is past this store's newest change 1): "
                            "full listing"]
    assert report.plan.operations == []
