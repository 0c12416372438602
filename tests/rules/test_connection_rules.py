"""Mappings and rules end to end: a YAML connection between two in-memory accounts, run with the real runner."""

from __future__ import annotations

from typing import Any

import pytest

from engine.planner.model import LinkOnly, Tag, Update

from .conftest import skips

NAME_SPLIT = {
    "defaults": False,
    "fields": [{"left": "email", "right": "email"}, {"left": "name", "right": ["first_name", "last_name"]}],
}


def test_custom_field_mapping_flows_both_ways(make_sync: Any) -> None:
    sync = make_sync({"mapping": {"fields": [{"left": "custom.plan", "right": "custom.tier"}]}})
    a = sync.left.add({"email": "a@x.io", "custom.plan": "gold"})
    sync.right.add({"email": "b@x.io", "custom.tier": "silver"})
    sync.run()
    assert {r["email"]: r.get("custom.tier") for r in sync.fields("right")} == {"a@x.io": "gold", "b@x.io": "silver"}
    assert {r["email"]: r.get("custom.plan") for r in sync.fields("left")} == {"a@x.io": "gold", "b@x.io": "silver"}

    sync.left.edit(a, {"custom.plan": "platinum"})
    sync.run()
    assert {r["email"]: r.get("custom.tier") for r in sync.fields("right")}["a@x.io"] == "platinum"


def test_a_disabled_entry_is_not_synced_and_the_rest_are(make_sync: Any) -> None:
    sync = make_sync({"mapping": {"fields": [{"left": "phone", "right": "phone", "enabled": False}]}})
    sync.left.add({"email": "a@x.io", "name": "Ada", "phone": "+15551234567"})
    sync.run()
    assert sync.only("right") == {"email": "a@x.io", "name": "Ada"}


def test_entry_direction_overrides_the_connection(make_sync: Any) -> None:
    fields = [
        {"left": "email", "right": "email"},
        {"left": "company", "right": "company", "direction": "left-to-right"},
    ]
    sync = make_sync({"mapping": {"defaults": False, "fields": fields}})
    a = sync.left.add({"email": "a@x.io", "company": "Acme"})
    sync.run()
    right_id = next(iter(sync.right.live()))
    sync.right.edit(right_id, {"company": "Globex"})
    sync.run()
    assert sync.left.records[a].fields["company"] == "Acme"


def test_name_is_split_on_create_and_joined_back(make_sync: Any) -> None:
    sync = make_sync({"mapping": NAME_SPLIT})
    sync.left.add({"email": "a@x.io", "name": "Dr. Ada de la Cruz Jr."})
    sync.right.add({"email": "b@x.io", "first_name": "Grace", "last_name": "van der Berg"})
    sync.run()
    by_email = {r["email"]: r for r in sync.fields("right")}
    assert (by_email["a@x.io"]["first_name"], by_email["a@x.io"]["last_name"]) == ("Ada", "de la Cruz")
    assert {r["email"]: r["name"] for r in sync.fields("left")}["b@x.io"] == "Grace van der Berg"


def test_a_last_name_change_rewrites_only_the_last_name_of_the_full_name(make_sync: Any) -> None:
    sync = make_sync({"mapping": NAME_SPLIT})
    a = sync.left.add({"email": "a@x.io", "name": "Dr. Ada de la Cruz Jr."})
    sync.run()
    right_id = next(iter(sync.right.live()))
    sync.right.edit(right_id, {"last_name": "Lovelace"})
    report = sync.run()
    assert sync.left.records[a].fields["name"] == "Dr. Ada Lovelace Jr."
    assert [dict(op.fields) for op in report.plan.of(Update)] == [{"name": "Dr. Ada Lovelace Jr."}]


def test_a_full_name_change_writes_only_the_parts_that_changed(make_sync: Any) -> None:
    sync = make_sync({"mapping": NAME_SPLIT})
    a = sync.left.add({"email": "a@x.io", "name": "Ada Lovelace"})
    sync.run()
    sync.left.edit(a, {"name": "Ada King"})
    report = sync.run()
    assert [dict(op.fields) for op in report.plan.of(Update)] == [{"last_name": "King"}]
    assert sync.only("right") == {"email": "a@x.io", "first_name": "Ada", "last_name": "King"}


@pytest.mark.parametrize(
    ("modes", "created", "updated"),
    [
        ({"left": "create-and-update", "right": "create-and-update"}, True, True),
        ({"left": "create-and-update", "right": "create-only"}, True, False),
        ({"left": "create-and-update", "right": "update-only"}, False, True),
    ],
    ids=["create-and-update", "create-only", "update-only"],
)
def test_modes_per_direction(make_sync: Any, modes: dict[str, str], created: bool, updated: bool) -> None:
    sync = make_sync({"mode": modes})
    linked = sync.left.add({"email": "a@x.io", "name": "Ada"})
    sync.right.add({"email": "a@x.io", "name": "Ada"})
    sync.left.add({"email": "new@x.io", "name": "New"})
    sync.run()
    sync.left.edit(linked, {"name": "Ada King"})
    report = sync.run()
    right = {r["email"]: r["name"] for r in sync.fields("right")}
    assert ("new@x.io" in right) is created
    assert (right["a@x.io"] == "Ada King") is updated
    if not updated:
        assert "mode create-only" in skips(report)[next(iter(sync.right.live()))]


def test_update_only_into_left_still_creates_on_the_right(make_sync: Any) -> None:
    sync = make_sync({"mode": {"left": "update-only", "right": "create-and-update"}})
    sync.left.add({"email": "a@x.io"})
    b = sync.right.add({"email": "b@x.io"})
    report = sync.run()
    assert [r["email"] for r in sync.fields("right")] == ["b@x.io", "a@x.io"]
    assert [r["email"] for r in sync.fields("left")] == ["a@x.io"]
    assert "mode update-only" in skips(report)[b]


def test_if_conditions_apply_per_direction_and_plan_names_the_failing_condition(make_sync: Any) -> None:
    condition = {"all": [{"field": "email", "op": "not_empty"}, {"field": "company", "op": "equals", "value": "Acme"}]}
    sync = make_sync({"if": {"left": condition}})
    sync.left.add({"email": "in@x.io", "company": "acme"})
    out = sync.left.add({"email": "out@x.io", "company": "Globex"})
    sync.right.add({"email": "right@x.io", "company": "Globex"})
    plan = sync.plan()
    assert skips(plan) == {out: "IF left: company equals 'Acme' fails (company is 'Globex')"}
    sync.run()
    assert sorted(r["email"] for r in sync.fields("right")) == ["in@x.io", "right@x.io"]
    assert sorted(r["email"] for r in sync.fields("left")) == ["in@x.io", "out@x.io", "right@x.io"]


def test_a_linked_record_that_stops_matching_is_reported_and_not_synced(make_sync: Any) -> None:
    sync = make_sync({"if": {"left": {"field": "custom.sync", "op": "equals", "value": "yes"}}})
    a = sync.left.add({"email": "a@x.io", "name": "Ada", "custom.sync": "yes"})
    sync.run()
    sync.left.edit(a, {"name": "Ada King", "custom.sync": "no"})
    report = sync.run()
    assert skips(report)[a].startswith("IF left: custom.sync equals 'yes' fails")
    assert sync.only("right")["name"] == "Ada"


@pytest.mark.parametrize("value", [True, False], ids=["exists", "does-not-exist"])
def test_exists_on_other_side(make_sync: Any, value: bool) -> None:
    """The left record that already exists on the right takes part only with `value: true`; the new one only
    with `value: false`. A left record left out is not linked either, so its right match is skipped too."""
    sync = make_sync({"if": {"left": {"field": "exists_on_other_side", "op": "equals", "value": value}}})
    both = sync.left.add({"email": "both@x.io", "name": "Left name"})
    new = sync.left.add({"email": "new@x.io"})
    sync.right.add({"email": "both@x.io"})
    report = sync.run()
    names = {r["email"]: r.get("name") for r in sync.fields("right")}
    assert (names["both@x.io"] == "Left name") is value
    assert ("new@x.io" in names) is not value
    left_out = new if value else both
    assert skips(report, "left")[left_out].startswith(f"IF left: exists_on_other_side equals {value!r} fails")
    assert any(link.left_id == both for link in sync.store.links("c")) is value


def test_then_actions_tag_and_set_fields_when_writing(make_sync: Any) -> None:
    then = {
        "right": [{"add_tag": "from left"}, {"remove_tag": "lead"}, {"set_field": "description", "value": "synced"}]
    }
    sync = make_sync({"then": then})
    a = sync.left.add({"email": "a@x.io", "name": "Ada"})
    b = sync.left.add({"email": "b@x.io", "name": "Bob"})
    existing = sync.right.add({"email": "b@x.io", "name": "Bob"})
    sync.right.set_tags(existing, {"lead"})
    sync.run()
    created = next(rid for rid in sync.right.live() if rid != existing)
    assert sync.right.records[created].tags == {"from left"}
    assert sync.right.records[created].fields["description"] == "synced"
    sync.left.edit(b, {"name": "Bob Smith"})
    report = sync.run()
    assert sync.right.records[existing].tags == {"from left"}
    assert sync.right.records[existing].fields == {"email": "b@x.io", "name": "Bob Smith", "description": "synced"}
    assert {(op.tag, op.add) for op in report.plan.of(Tag)} == {("from left", True), ("lead", False)}
    assert a in sync.left.records


def test_deletion_gives_the_linked_record_the_trash_tag_once(make_sync: Any) -> None:
    sync = make_sync({"deletions": {"tag": "Review: deleted"}})
    a = sync.left.add({"email": "a@x.io"})
    sync.run()
    right_id = next(iter(sync.right.live()))
    sync.left.delete(a)
    first = sync.run()
    again = sync.run()
    assert sync.right.records[right_id].tags == {"Review: deleted"}
    assert not sync.right.records[right_id].deleted
    assert first.summary()["tagged"] == {"left": 0, "right": 1}
    assert again.summary()["tagged"] == {"left": 0, "right": 0}


def test_deletion_into_an_app_without_tags_is_reported(make_sync: Any) -> None:
    sync = make_sync({}, right={"tags": False})
    a = sync.left.add({"email": "a@x.io"})
    sync.run()
    right_id = next(iter(sync.right.live()))
    sync.left.delete(a)
    report = sync.run()
    assert skips(report)[right_id] == f"left record {a} was deleted, but the right app cannot take tags"
    assert report.summary()["tagged"] == {"left": 0, "right": 0}


def test_unsubscribe_becomes_the_unsubscribe_tag(make_sync: Any) -> None:
    sync = make_sync({})
    a = sync.left.add({"email": "a@x.io"})
    sync.run()
    right_id = next(iter(sync.right.live()))
    sync.left.unsubscribe(a)
    sync.run()
    sync.run()
    assert sync.right.records[right_id].tags == {"pairsync Unsubscribes"}


def test_switched_off_deletions_leave_the_other_record_alone(make_sync: Any) -> None:
    sync = make_sync({"deletions": {"enabled": False}})
    a = sync.left.add({"email": "a@x.io"})
    sync.run()
    sync.left.delete(a)
    report = sync.run()
    assert report.summary()["tagged"] == {"left": 0, "right": 0}
    assert all(not r.tags for r in sync.right.live().values())


def test_id_field_is_written_when_links_are_made(make_sync: Any) -> None:
    sync = make_sync({"id_field": "custom.right_id"})
    matched = sync.left.add({"email": "a@x.io"})
    match = sync.right.add({"email": "a@x.io"})
    created_from = sync.right.add({"email": "b@x.io"})
    pushed = sync.left.add({"email": "c@x.io"})
    sync.run()
    sync.run()
    pushed_to = next(rid for rid, r in sync.right.live().items() if r.fields["email"] == "c@x.io")
    ids = {r["email"]: r.get("custom.right_id") for r in sync.fields("left")}
    assert ids == {"a@x.io": match, "b@x.io": created_from, "c@x.io": pushed_to}
    assert sync.run().summary()["updated"] == {"left": 0, "right": 0}
    assert {matched, pushed} <= set(sync.left.live())


def test_id_field_rebuilds_links_after_the_state_is_lost(make_sync: Any) -> None:
    sync = make_sync({"id_field": "custom.right_id"})
    for n in range(3):
        sync.left.add({"email": f"p{n}@x.io", "name": f"Person {n}"})
    sync.run()
    sync.run()
    right_ids = sorted(sync.right.live())
    for rid in right_ids:  # emails now differ, so matching by email alone would create duplicates
        sync.right.edit(rid, {"email": f"changed-{rid}@x.io"})
    sync.lose_state()
    report = sync.run()
    assert report.summary()["created"] == {"left": 0, "right": 0}
    assert report.summary()["linked"] == {"total": 3, "new": 3}
    assert sorted(sync.right.live()) == right_ids
    assert len(sync.left.live()) == 3


@pytest.mark.parametrize("changed", ["both", "right only"])
def test_a_record_failing_its_condition_is_never_linked_whichever_side_changed(make_sync: Any, changed: str) -> None:
    """Issue 18.1: a right record that changed used to link to a left record failing `if.left`."""
    sync = make_sync({"if": {"left": {"field": "custom.sync", "op": "equals", "value": "yes"}}})
    out = sync.left.add({"email": "a@x.io", "name": "Left", "custom.sync": "no"})
    if changed == "right only":
        sync.run()  # the left record is read and left out; the right side is still empty
    contact = sync.right.add({"email": "a@x.io", "name": "Right"})
    report = sync.run()
    assert sync.store.links("c") == []
    assert report.outcome is not None
    assert [e for e in report.outcome.events if e["kind"] == "linked"] == []
    assert skips(report, "right")[contact] == (
        f"it matches left record {out}, which is left out "
        "(IF left: custom.sync equals 'yes' fails (custom.sync is 'no')); not linked"
    )
    assert sync.fields("left") == [{"email": "a@x.io", "name": "Left", "custom.sync": "no"}]
    assert sync.fields("right") == [{"email": "a@x.io", "name": "Right"}]
    sync.right.edit(contact, {"name": "Right again"})
    assert sync.run().plan.of(LinkOnly) == []


def test_the_plan_counts_the_tags_then_actions_add_to_created_records(make_sync: Any) -> None:
    """Issue 18.4: `plan` said 0 tags where the run then added one to every record it created."""
    sync = make_sync({"then": {"right": [{"add_tag": "from left"}, {"add_tag": "customer"}]}})
    for email in ("a@x.io", "b@x.io", "c@x.io"):
        sync.left.add({"email": email})
    planned = sync.plan().summary()
    done = sync.run().summary()
    assert planned["tagged"] == done["tagged"] == {"left": 0, "right": 6}
    assert all(r.tags == {"from left", "customer"} for r in sync.right.live().values())


def test_a_blocked_run_reports_nothing_done_and_says_blocked(make_sync: Any) -> None:
    """Issue 18.9: a breaker-blocked run reported its planned updates as done and had no warning."""
    sync = make_sync({"breaker": {"max_share": 0.5, "min_records": 1}})
    ids = [sync.left.add({"email": f"p{i}@x.io", "name": "Old"}) for i in range(4)]
    sync.run()
    for rid in ids:
        sync.left.edit(rid, {"name": "New"})
    summary = sync.run().summary()
    assert summary["status"] == "blocked"
    assert summary["updated"] == {"left": 0, "right": 0}
    assert summary["planned"]["updated"] == {"left": 0, "right": 4}
    assert summary["linked"] == {"total": 4, "new": 0}
    assert [w for w in summary["warnings"] if w.startswith("blocked: this run would change 4 of 4")]


class _Recorded:
    """What the run reported through engine.progress.Phases."""

    def __init__(self) -> None:
        self.read: dict[str, int] = {"left": 0, "right": 0}
        self.planned_writes: dict[str, int] = {}
        self.written: dict[str, int] = {"left": 0, "right": 0}


def test_progress_reports_each_phase_with_counts_that_add_up(make_sync: Any) -> None:
    """Issue 18.11: the progress bar was an indeterminate pulse; the run now reports reads and writes per side."""
    sync = make_sync({"then": {"right": [{"add_tag": "synced"}]}})
    for i in range(7):
        sync.left.add({"email": f"p{i}@x.io"})
    sync.right.add({"email": "r@x.io"})
    seen = _Recorded()

    class Phases:
        def read(self, side: str, count: int) -> None:
            seen.read[side] += count

        def planned(self, writes: dict[str, int]) -> None:
            seen.planned_writes = dict(writes)

        def written(self, side: str, count: int) -> None:
            seen.written[side] += count

    summary = sync.run(phases=Phases()).summary()
    assert seen.read == {"left": 7, "right": 1}
    assert seen.planned_writes == {"left": 1, "right": 14}  # 7 creates and their 7 THEN tags
    assert seen.written == seen.planned_writes
    assert summary["tagged"]["right"] + summary["created"]["right"] == 14
