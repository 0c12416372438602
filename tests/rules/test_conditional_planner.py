"""Conditional THEN actions in the pure planner: input by hand, the run's clock fixed, operations out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.config.models import Action
from engine.planner.model import Create, Plan, Tag, Update
from engine.planner.plan import PlanInput, plan
from engine.records import Record
from tests.test_planner import T0, mapper, rec, run_plan, synced

SOON = {"field": "renews", "op": "within_next_days", "value": 14}
GOLD = {"field": "plan", "op": "equals", "value": "gold"}


def then(*actions: dict[str, Any]) -> dict[str, list[Action]]:
    return {"right": [Action.model_validate(a) for a in actions]}


def tags(result: Plan) -> list[tuple[str, str, bool]]:
    return [(op.record_id, op.tag, op.add) for op in result.of(Tag)]


def linked(left: Record, right: Record, actions: dict[str, list[Action]], moved: bool = True) -> Plan:
    """One linked pair; `moved`: the left record is among this run's changes (else only in the index)."""
    link = synced(left.id, right.id, email=left.get("email"), name=None, phone=None)
    data = PlanInput(
        connection="test",
        mapper=mapper(),
        changes={"left": {left.id: left} if moved else {}, "right": {}},
        index={"left": {left.id: left}, "right": {right.id: right}},
        links=[link],
        actions=actions,
        now=T0,
    )
    return plan(data)


IN_TEN_DAYS = (T0 + timedelta(days=10)).isoformat()
TEN_DAYS_AGO = (T0 - timedelta(days=10)).isoformat()


@pytest.mark.parametrize(
    ("left", "right_tags", "actions", "expected"),
    [
        pytest.param(rec("L1", email="a@x.io", renews=IN_TEN_DAYS), [], then({"add_tag": "Soon", "if": SOON}),
                     [("R1", "Soon", True)], id="the condition holds: the tag is added"),
        pytest.param(rec("L1", email="a@x.io", renews=IN_TEN_DAYS), ["Soon"], then({"add_tag": "Soon", "if": SOON}),
                     [], id="the condition holds and the tag is on: nothing is sent again"),
        pytest.param(rec("L1", email="a@x.io", renews=TEN_DAYS_AGO), ["Soon"], then({"add_tag": "Soon", "if": SOON}),
                     [("R1", "Soon", False)], id="the condition stopped holding: the tag comes off"),
        pytest.param(rec("L1", email="a@x.io", renews=TEN_DAYS_AGO), [], then({"add_tag": "Soon", "if": SOON}),
                     [], id="the condition does not hold and the tag is off: nothing"),
        pytest.param(rec("L1", email="a@x.io", plan="gold"), ["Trial"], then({"remove_tag": "Trial", "if": GOLD}),
                     [("R1", "Trial", False)], id="a conditional remove_tag removes while its condition holds"),
        pytest.param(rec("L1", email="a@x.io", plan="free"), ["Trial"], then({"remove_tag": "Trial", "if": GOLD}),
                     [], id="a conditional remove_tag leaves the tag while its condition fails"),
    ],
)
def test_a_conditional_tag_follows_its_condition(
    left: Record, right_tags: list[str], actions: dict[str, list[Action]], expected: list[tuple[str, str, bool]]
) -> None:
    right = rec("R1", email="a@x.io", tags=right_tags)
    assert tags(linked(left, right, actions)) == expected


def test_the_reason_for_taking_a_tag_off_names_the_failing_condition() -> None:
    left = rec("L1", email="a@x.io", renews=TEN_DAYS_AGO)
    [op] = linked(left, rec("R1", email="a@x.io", tags=["Soon"]), then({"add_tag": "Soon", "if": SOON})).of(Tag)
    assert op.reason == (
        "THEN add_tag 'Soon' if renews within_next_days 14: the condition no longer holds "
        f"(renews within_next_days 14 fails (renews is {TEN_DAYS_AGO!r}))"
    )


def test_a_clock_condition_is_checked_on_links_this_run_did_not_read() -> None:
    left = rec("L1", email="a@x.io", renews=IN_TEN_DAYS)
    result = linked(left, rec("R1", email="a@x.io"), then({"add_tag": "Soon", "if": SOON}), moved=False)
    assert tags(result) == [("R1", "Soon", True)]


def test_a_condition_without_the_clock_is_not_checked_on_links_that_did_not_change() -> None:
    left = rec("L1", email="a@x.io", plan="gold")
    assert linked(left, rec("R1", email="a@x.io"), then({"add_tag": "Gold", "if": GOLD}), moved=False).operations == []


@pytest.mark.parametrize(("plan", "expected"), [("gold", {"tier": "gold"}), ("free", {})])
def test_a_conditional_set_field_writes_only_while_its_condition_holds(plan: str, expected: dict[str, str]) -> None:
    left = rec("L1", email="a@x.io", plan=plan)
    result = linked(left, rec("R1", email="a@x.io"), then({"set_field": "tier", "value": "gold", "if": GOLD}))
    assert [dict(op.fields) for op in result.of(Update)] == ([expected] if expected else [])


@pytest.mark.parametrize(("plan", "expected"), [("gold", ("Always", "Gold")), ("free", ("Always",))])
def test_a_created_record_takes_the_conditional_tags_that_hold(plan: str, expected: tuple[str, ...]) -> None:
    actions = then({"add_tag": "Always"}, {"add_tag": "Gold", "if": GOLD})
    result = run_plan([rec("L1", email="a@x.io", plan=plan)], [], actions=actions, now=T0)
    [create] = result.of(Create)
    assert create.tags == expected
