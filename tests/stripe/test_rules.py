"""Sync rules: validation messages for customer ids, and which customers the rules leave out."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors.stripe import StripeConnectionOptions, StripeConnector
from engine.records import Record


@pytest.mark.parametrize(
    ("ids", "bad"),
    [
        (["cus_abc123", "abc123"], "abc123"),
        ("cus_abc123, cus_", "cus_"),
        (["cus_abc-123"], "cus_abc-123"),
        ("sub_123", "sub_123"),
        (["CUS_abc"], "CUS_abc"),
    ],
)
def test_invalid_customer_ids_are_named_in_the_message(ids: Any, bad: str) -> None:
    with pytest.raises(ValidationError) as raised:
        StripeConnectionOptions.model_validate({"sync_rules": {"mode": "include", "ids": ids}})
    expected = f"Invalid customer ID: {bad} (expected cus_ followed by letters and numbers, e.g. cus_abc123)"
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("ids", "parsed"),
    [
        ("cus_a1, cus_B2 ,cus_c3", ["cus_a1", "cus_B2", "cus_c3"]),
        (["cus_a1", "cus_B2"], ["cus_a1", "cus_B2"]),
        ("cus_a1", ["cus_a1"]),
    ],
)
def test_ids_come_as_a_list_or_one_comma_separated_string(ids: Any, parsed: list[str]) -> None:
    options = StripeConnectionOptions.model_validate({"sync_rules": {"mode": "exclude", "ids": ids}})
    assert options.sync_rules.ids == parsed


def test_mode_all_is_the_default_and_unknown_keys_are_refused() -> None:
    assert StripeConnectionOptions().sync_rules.mode == "all"
    with pytest.raises(ValidationError):
        StripeConnectionOptions.model_validate({"sync_rules": {"mode": "some"}})
    with pytest.raises(ValidationError):
        StripeConnectionOptions.model_validate({"sync_rule": {}})


def test_include_needs_at_least_one_id() -> None:
    with pytest.raises(ValidationError, match="needs at least one customer ID"):
        StripeConnectionOptions.model_validate({"sync_rules": {"mode": "include", "ids": []}})


@pytest.mark.parametrize(
    ("rules", "customer", "reason"),
    [
        ({"mode": "all"}, "cus_1", None),
        ({"mode": "include", "ids": "cus_1"}, "cus_1", None),
        ({"mode": "include", "ids": "cus_1"}, "cus_2", "sync_rules: cus_2 is not in the include list"),
        ({"mode": "exclude", "ids": "cus_1"}, "cus_1", "sync_rules: cus_1 is in the exclude list"),
        ({"mode": "exclude", "ids": "cus_1"}, "cus_2", None),
    ],
)
def test_skip_reason_names_the_rule(rules: dict[str, Any], customer: str, reason: str | None) -> None:
    options = StripeConnectionOptions.model_validate({"sync_rules": rules})
    assert StripeConnector.skip_reason(Record(id=customer, fields={}), options) == reason
