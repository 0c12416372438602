"""Conditional actions through the real runner between two memory accounts, and what `validate` says of them."""

from __future__ import annotations

from typing import Any

import pytest

from engine.config.errors import ConfigError

GOLD = {"field": "company", "op": "equals", "value": "Gold"}


def test_a_conditional_tag_is_sent_once_and_follows_an_edit_of_the_source(make_sync: Any) -> None:
    sync = make_sync({"direction": "left-to-right", "then": {"right": [{"add_tag": "VIP", "if": GOLD}]}})
    ada = sync.left.add({"email": "ada@x.io", "company": "Gold"})
    sync.run()
    [contact] = sync.right.live().values()
    assert contact.tags == frozenset({"VIP"})
    assert sync.run().plan.operations == []
    sync.left.edit(ada, {"company": "Tin"})
    report = sync.run()
    [contact] = sync.right.live().values()
    assert contact.tags == frozenset()
    assert report.summary()["untagged"] == {"left": 0, "right": 1}
    assert sync.run().plan.operations == []


def test_the_stored_record_holds_the_tag_a_run_added_so_no_feed_echo_is_needed(make_sync: Any) -> None:
    """The next run compares with the stored records; they must not wait for the app to report the tag back."""
    sync = make_sync({"direction": "left-to-right", "then": {"right": [{"add_tag": "VIP", "if": GOLD}]}})
    ada = sync.left.add({"email": "ada@x.io", "company": "Tin"})
    sync.run()
    sync.left.edit(ada, {"company": "Gold"})
    assert sync.run().summary()["tagged"] == {"left": 0, "right": 1}
    [contact_id] = sync.right.live()
    assert sync.store.seen("c", "right")[contact_id].tags == frozenset({"VIP"})


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "compnay", "op": "equals", "value": "x"}, "memory has no field 'compnay'; did you mean `company`?"),
        ({"field": "company", "op": "within_next_dayz", "value": 3}, "unknown operator 'within_next_dayz'; did you"),
    ],
)
def test_validate_checks_the_condition_of_an_action_against_the_source_side(
    make_sync: Any, condition: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_sync({"then": {"right": [{"add_tag": "VIP", "if": condition}]}})
    [problem] = raised.value.problems
    assert problem.key == "connections[0].then.right[0].if"
    assert problem.message.startswith(message)
