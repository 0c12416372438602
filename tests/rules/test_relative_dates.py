"""Relative-date operators against a fixed clock: ISO dates, ISO date-times and Unix seconds alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.conditions import TIME_OPS, evaluate, moment, uses_clock
from engine.config.models import Condition
from engine.records import Record

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return NOW + timedelta(days=days)


@pytest.mark.parametrize(
    ("op", "value", "days", "expected"),
    [
        ("within_next_days", at(10).isoformat(), 14, True),
        ("within_next_days", at(10).isoformat(), 7, False),
        ("within_next_days", at(-1).isoformat(), 14, False),
        ("within_next_days", int(at(10).timestamp()), 14, True),
        ("within_next_days", str(int(at(3).timestamp())), 7, True),
        ("within_next_days", "2026-06-20", 7, True),
        ("within_next_days", at(10).isoformat().replace("+00:00", "Z"), 14, True),
        ("within_last_days", at(-3).isoformat(), 7, True),
        ("within_last_days", at(-9).isoformat(), 7, False),
        ("within_last_days", at(1).isoformat(), 7, False),
        ("before_days_ago", at(-31).isoformat(), 30, True),
        ("before_days_ago", at(-29).isoformat(), 30, False),
        ("after_days_from_now", at(31).isoformat(), 30, True),
        ("after_days_from_now", at(29).isoformat(), 30, False),
        ("within_next_days", None, 14, False),
        ("within_next_days", "", 14, False),
        ("within_next_days", "next tuesday", 14, False),
        ("within_next_days", True, 14, False),
        ("within_next_days", at(3).isoformat(), "two weeks", False),
    ],
)
def test_relative_dates_compare_with_the_run_clock(op: str, value: Any, days: Any, expected: bool) -> None:
    assert TIME_OPS[op](value, days, NOW) is expected


def test_a_naive_date_time_is_read_as_utc() -> None:
    assert moment("2026-06-15T12:00:00") == NOW


@given(st.floats(min_value=0.001, max_value=3650), st.floats(min_value=0, max_value=3650))
def test_next_and_after_never_both_hold(offset: float, days: float) -> None:
    when = at(offset).isoformat()
    assert not (TIME_OPS["within_next_days"](when, days, NOW) and TIME_OPS["after_days_from_now"](when, days, NOW))


def test_evaluate_uses_the_clock_it_is_given() -> None:
    condition = Condition.model_validate({"field": "renews", "op": "within_next_days", "value": 14})
    record = Record("c1", {"renews": at(10).isoformat()})
    assert evaluate(condition, record, True, {}, NOW)
    assert not evaluate(condition, record, True, {}, NOW + timedelta(days=11))


@pytest.mark.parametrize(
    ("condition", "clocked"),
    [
        ({"field": "renews", "op": "within_next_days", "value": 14}, True),
        ({"field": "stage", "op": "equals", "value": "churned"}, False),
        ({"all": [{"field": "a", "op": "empty"}, {"not": {"field": "b", "op": "before_days_ago", "value": 3}}]}, True),
    ],
)
def test_uses_clock_finds_relative_dates_anywhere_in_a_condition(condition: dict[str, Any], clocked: bool) -> None:
    assert uses_clock(Condition.model_validate(condition)) is clocked
