"""The planner's review-queue hooks: a conflict value picked by a person, deletions held until approved.

Pure planner cases first (input built by hand), then the same through real runs against memory connectors
and the state store, so the store, planner, executor and runner agree on when an item is applied.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import load_config
from engine.config.models import Deletions
from engine.planner.model import LinkOnly, Review, Tag
from engine.planner.plan import PlanInput, plan
from engine.runner import run_connection
from engine.state.review import DELETION
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore
from tests.test_planner import EMAIL, NAME, mapper, rec, run_plan, synced, writes

# the planner alone -----------------------------------------------------------------


def test_a_picked_value_is_written_to_both_sides_whatever_the_rule_chose() -> None:
    link = synced("L1", "R1", email="ada@example.com", name="Ada King")
    result = run_plan(
        [rec("L1", email="ada@example.com", name="Ada King")],
        [rec("R1", email="ada@example.com", name="Ada King")],
        [link],
        picks={("L1", NAME): "Ada Lovelace"},
    )
    assert writes(result) == [
        ("update", "left", "L1", {"name": "Ada Lovelace"}),
        ("update", "right", "R1", {"name": "Ada Lovelace"}),
    ]
    assert result.reviewed_picks == [("L1", NAME)]


def test_a_pick_touches_its_link_even_when_neither_record_changed() -> None:
    """No change came through the feed: the records are only in the index, and the pick still writes."""
    link = synced("L1", "R1", email="ada@example.com", name="Ada King")
    index = {
        "left": {"L1": rec("L1", email="ada@example.com", name="Ada King")},
        "right": {"R1": rec("R1", email="ada@example.com", name="Ada King")},
    }
    data = PlanInput(
        "test", mapper(), {"left": {}, "right": {}}, index, [link], picks={("L1", NAME): "Ada Lovelace"}
    )
    assert writes(plan(data)) == [
        ("update", "left", "L1", {"name": "Ada Lovelace"}),
        ("update", "right", "R1", {"name": "Ada Lovelace"}),
    ]


def test_a_pick_already_on_both_sides_writes_nothing_and_is_settled() -> None:
    link = synced("L1", "R1", email="ada@example.com", name="Ada Lovelace")
    result = run_plan(
        [rec("L1", email="ada@example.com", name="Ada Lovelace")],
        [rec("R1", email="ada@example.com", name="Ada Lovelace")],
        [link],
        picks={("L1", NAME): "Ada Lovelace"},
    )
    assert writes(result) == [] and result.reviewed_picks == [("L1", NAME)]


@pytest.mark.parametrize(
    ("review", "decision", "expected"),
    [
        (False, None, Tag),  # no review: the tag goes on at once, as before
        (True, None, Review),  # review: held, nothing written
        (True, "approved", Tag),
        (True, "dismissed", LinkOnly),  # dismissed: the link is marked done, no tag
    ],
)
def test_deletion_review(review: bool, decision: str | None, expected: type[Any]) -> None:
    decisions = {("right", "R1"): decision} if decision else {}
    result = run_plan(
        [rec("L1", email="ada@example.com", deleted=True)],
        [rec("R1", email="ada@example.com")],
        [synced("L1", "R1", email="ada@example.com")],
        deletions=Deletions(review=review),
        decisions=decisions,
    )
    kinds = [type(op) for op in result.operations if isinstance(op, Tag | Review | LinkOnly)]
    assert kinds == [expected]
    assert result.reviewed_deletions == ([("right", "R1")] if decision else [])
    assert result.counts()["held"] == (1 if expected is Review else 0)


def test_a_decided_deletion_is_applied_when_the_deleted_record_is_no_longer_in_the_changes() -> None:
    """An incremental run after the approval: the deletion came through an earlier run's feed."""
    result = run_plan(
        [],
        [],
        [synced("L1", "R1", email="ada@example.com")],
        deletions=Deletions(review=True),
        decisions={("right", "R1"): "approved"},
    )
    tags = result.of(Tag)
    assert [(t.side, t.record_id, t.tag) for t in tags] == [("right", "R1", "pairsync Trash")]


# through real runs ---------------------------------------------------------------------


@pytest.fixture
def setup(tmp_path: Path):
    left, right = MemoryStore.named(f"l-{tmp_path.name}"), MemoryStore.named(f"r-{tmp_path.name}")
    config = tmp_path / "pairsync.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "accounts": {
                    "crm": {"connector": "memory", "settings": {"store": f"l-{tmp_path.name}"}},
                    "billing": {"connector": "memory", "settings": {"store": f"r-{tmp_path.name}"}},
                },
                "connections": [
                    {"name": "people", "left": "crm", "right": "billing", "deletions": {"review": True}}
                ],
            }
        )
    )
    loaded = load_config(config)
    store = StateStore(loaded.state_url)
    yield loaded, store, left, right
    store.close()
    MemoryStore.forget(f"l-{tmp_path.name}")
    MemoryStore.forget(f"r-{tmp_path.name}")


def _run(loaded, store):
    return asyncio.run(run_connection(loaded, loaded.config.connections[0], store))


def test_a_held_deletion_waits_until_approved_then_the_next_run_tags(setup) -> None:
    loaded, store, left, right = setup
    ada = left.add({"email": "ada@example.com", "name": "Ada"})
    assert _run(loaded, store).status == "ok"
    right_id = next(iter(right.live()))
    left.delete(ada)

    held = _run(loaded, store)
    assert held.summary()["held_for_review"] == 1
    assert "pairsync Trash" not in right.live()[right_id].tags
    [item] = store.review_items("people", DELETION)
    assert (item["side"], item["record_id"]) == ("right", right_id)

    _run(loaded, store)  # still pending: a run in between writes nothing
    assert "pairsync Trash" not in right.live()[right_id].tags
    assert store.count_review("people", DELETION) == 1

    assert store.decide("people", [item["id"]], "approved") == 1
    assert _run(loaded, store).summary()["tagged"] == {"left": 0, "right": 1}
    assert "pairsync Trash" in right.live()[right_id].tags
    assert store.review_items("people", DELETION, "done")[0]["id"] == item["id"]
    assert _run(loaded, store).summary()["tagged"] == {"left": 0, "right": 0}  # applied once


def test_a_picked_conflict_value_is_written_by_the_next_run_and_then_settled(setup) -> None:
    loaded, store, left, right = setup
    ada = left.add({"email": "ada@example.com", "name": "Ada"})
    _run(loaded, store)
    right_id = next(iter(right.live()))
    store.pick_value("people", ada, right_id, NAME, "Ada Lovelace")
    assert store.picks("people") == {(ada, NAME): "Ada Lovelace"}

    report = _run(loaded, store)
    assert report.summary()["updated"] == {"left": 1, "right": 1}
    assert left.live()[ada].fields["name"] == right.live()[right_id].fields["name"] == "Ada Lovelace"
    assert store.picks("people") == {}
    assert _run(loaded, store).summary()["updated"] == {"left": 0, "right": 0}
    assert left.live()[ada].fields["email"] == "ada@example.com" != EMAIL  # other fields are untouched
