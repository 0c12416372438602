"""IF conditions: every operator, the combinations, JSONPath fields and the reason a record is left out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.conditions import BUILTIN_OPS, evaluate, why_not
from engine.config.models import Condition
from engine.plugins import registry
from engine.records import Record

OPS = registry().condition_ops
CASES: list[tuple[str, Any, Any, bool]] = [
    ("equals", "Acme", "acme", True),
    ("equals", "Acme", "Globex", False),
    ("equals", 49.0, "49", True),
    ("equals", True, True, True),
    ("equals", None, False, True),
    ("not_equals", "Acme", "Globex", True),
    ("not_equals", "Acme", "ACME", False),
    ("contains", "ada@acme.io", "@ACME", True),
    ("contains", ["vip", "lead"], "VIP", True),
    ("contains", {"a": "x"}, "x", True),
    ("contains", None, "x", False),
    ("not_contains", "ada@acme.io", "globex", True),
    ("starts_with", "Dr. Ada", "dr.", True),
    ("starts_with", "Ada", "Dr.", False),
    ("in", "gold", ["Silver", "Gold"], True),
    ("in", "bronze", ["silver", "gold"], False),
    ("in", "gold", "gold", True),
    ("empty", None, None, True),
    ("empty", "", None, True),
    ("empty", [], None, True),
    ("empty", "x", None, False),
    ("not_empty", "x", None, True),
    ("not_empty", None, None, False),
    ("greater", 100, 50, True),
    ("greater", "100", 50, True),
    ("greater", "2026-02-01", "2026-01-15", True),
    ("greater", None, 0, False),
    ("less", 10, 50, True),
    ("less", "2025-12-31", "2026-01-01", True),
    ("less", "", 1, False),
]


@pytest.mark.parametrize(("op", "actual", "value", "expected"), CASES)
def test_operator(op: str, actual: Any, value: Any, expected: bool) -> None:
    assert BUILTIN_OPS[op](actual, value) is expected


def test_every_builtin_operator_has_cases() -> None:
    assert {case[0] for case in CASES} == set(BUILTIN_OPS)


@given(st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text())), st.text())
def test_negated_operators_are_exact_opposites(actual: Any, value: str) -> None:
    assert OPS["not_equals"](actual, value) is not OPS["equals"](actual, value)
    assert OPS["not_contains"](actual, value) is not OPS["contains"](actual, value)
    assert OPS["not_empty"](actual, value) is not OPS["empty"](actual, value)


RECORD = Record("r1", {"email": "ada@acme.io", "company": "Acme", "plans": [{"product_name": "Pro"}]})


def cond(data: dict[str, Any]) -> Condition:
    return Condition.model_validate(data)


@pytest.mark.parametrize(
    ("data", "matches", "reason"),
    [
        ({"field": "company", "op": "equals", "value": "acme"}, True, None),
        (
            {"all": [{"field": "email", "op": "not_empty"}, {"field": "company", "op": "equals", "value": "Globex"}]},
            False,
            "company equals 'Globex' fails (company is 'Acme')",
        ),
        (
            {"any": [{"field": "company", "op": "equals", "value": "Globex"}, {"field": "phone", "op": "not_empty"}]},
            False,
            "none of (company equals 'Globex' fails (company is 'Acme'); phone not_empty fails (phone is None))",
        ),
        (
            {"not": {"field": "email", "op": "contains", "value": "acme"}},
            False,
            "not (email contains 'acme') fails: it matches",
        ),
        ({"field": "plans$[*].product_name", "op": "equals", "value": "pro"}, True, None),
        (
            {"field": "plans$[*].product_name", "op": "equals", "value": "Team"},
            False,
            "plans$[*].product_name equals 'Team' fails (plans$[*].product_name is 'Pro')",
        ),
        (
            {"field": "exists_on_other_side", "op": "equals", "value": True},
            False,
            "exists_on_other_side equals True fails (exists_on_other_side is False)",
        ),
    ],
)
def test_conditions_and_the_reason_a_record_is_left_out(
    data: dict[str, Any], matches: bool, reason: str | None
) -> None:
    condition = cond(data)
    assert evaluate(condition, RECORD, False, OPS) is matches
    assert why_not(condition, RECORD, False, OPS) == reason


@pytest.mark.parametrize(
    "data",
    [{}, {"field": "email"}, {"field": "email", "op": "empty", "all": []}, {"all": [], "any": []}],
)
def test_a_malformed_condition_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="condition"):
        cond(data)
