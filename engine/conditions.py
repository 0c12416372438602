"""IF conditions: data (`{all|any|not|field, op, value}`) evaluated by code, never strings run as code.

`exists_on_other_side` is a field every record has: whether it is linked to,
or matches, a record of the other side before the sync. Field names may end
in a JSONPath (`plans$[*].price`, see engine/rules/paths.py). `why_not`
names the part of a condition that left a record out, for `plan`.

Relative-date operators (`within_next_days`, ...) compare with `now`, the
run's clock, which the caller passes in: the planner stays pure and a test
moves the clock by passing another `now`. They are registered too (with the
wall clock) so `validate` knows their names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.config.models import Condition
from engine.hookspecs import hookimpl
from engine.records import Record
from engine.rules.paths import read

Op = Callable[[Any, Any], bool]
EXISTS_FIELD = "exists_on_other_side"


def _text(value: Any) -> str:
    return "" if value is None else str(value).casefold()


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(actual: Any, expected: Any, greater: bool) -> bool:
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left > right if greater else left < right
    if actual in (None, ""):
        return False
    return str(actual) > str(expected) if greater else str(actual) < str(expected)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list | tuple | set | frozenset):
        return any(_text(item) == _text(expected) or _contains(item, expected) for item in actual)
    if isinstance(actual, dict):
        return any(_contains(v, expected) for v in actual.values())
    return _text(expected) in _text(actual)


def _empty(actual: Any, _expected: Any = None) -> bool:
    return actual is None or actual == "" or actual == [] or actual == {}


def _equals(actual: Any, expected: Any) -> bool:
    """Case-insensitive text equality; booleans by truth (absent is false); numbers by value (49 == "49.0")."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(actual) == bool(expected) if actual is not None else expected is False
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return _text(actual) == _text(expected)


BUILTIN_OPS: dict[str, Op] = {
    "equals": _equals,
    "not_equals": lambda a, e: not _equals(a, e),
    "contains": _contains,
    "not_contains": lambda a, e: not _contains(a, e),
    "starts_with": lambda a, e: _text(a).startswith(_text(e)),
    "in": lambda a, e: any(_equals(a, item) for item in (e if isinstance(e, list) else [e])),
    "empty": _empty,
    "not_empty": lambda a, e: not _empty(a),
    "greater": lambda a, e: _compare(a, e, True),
    "less": lambda a, e: _compare(a, e, False),
}


def moment(value: Any) -> datetime | None:
    """A date or time as connectors expose it (ISO date, ISO date-time, Unix seconds) in UTC; None if neither."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    number = _number(value)
    if number is not None:
        return datetime.fromtimestamp(number, tz=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _window(actual: Any, days: Any) -> tuple[datetime, timedelta] | None:
    when, count = moment(actual), _number(days)
    return None if when is None or count is None else (when, timedelta(days=count))


def _within_next(actual: Any, days: Any, now: datetime) -> bool:
    found = _window(actual, days)
    return found is not None and now <= found[0] <= now + found[1]


def _within_last(actual: Any, days: Any, now: datetime) -> bool:
    found = _window(actual, days)
    return found is not None and now - found[1] <= found[0] <= now


def _before_days_ago(actual: Any, days: Any, now: datetime) -> bool:
    found = _window(actual, days)
    return found is not None and found[0] < now - found[1]


def _after_days_from_now(actual: Any, days: Any, now: datetime) -> bool:
    found = _window(actual, days)
    return found is not None and found[0] > now + found[1]


ClockedOp = Callable[[Any, Any, datetime], bool]
TIME_OPS: dict[str, ClockedOp] = {
    "within_next_days": _within_next,
    "within_last_days": _within_last,
    "before_days_ago": _before_days_ago,
    "after_days_from_now": _after_days_from_now,
}


def _on_wall_clock(op: ClockedOp) -> Op:
    return lambda actual, expected: op(actual, expected, datetime.now(UTC))


@hookimpl
def register_condition_ops(register: Callable[[str, Op], None]) -> None:
    for name, op in BUILTIN_OPS.items():
        register(name, op)
    for name, clocked in TIME_OPS.items():
        register(name, _on_wall_clock(clocked))


def uses_clock(condition: Condition | None) -> bool:
    """Whether the condition can change with no change in the record: it compares with today."""
    if condition is None:
        return False
    if condition.all is not None or condition.any is not None:
        return any(uses_clock(c) for c in (condition.all or condition.any or []))
    if condition.not_ is not None:
        return uses_clock(condition.not_)
    return condition.op in TIME_OPS


def describe(condition: Condition) -> str:
    """A condition as one line of text, for the reason a record was left out."""
    if condition.all is not None:
        return "all of (" + "; ".join(describe(c) for c in condition.all) + ")"
    if condition.any is not None:
        return "any of (" + "; ".join(describe(c) for c in condition.any) + ")"
    if condition.not_ is not None:
        return f"not ({describe(condition.not_)})"
    value = "" if condition.op in ("empty", "not_empty") else f" {condition.value!r}"
    return f"{condition.field} {condition.op}{value}"


def evaluate(
    condition: Condition, record: Record, exists: bool, ops: Mapping[str, Op], now: datetime | None = None
) -> bool:
    """Whether `record` meets `condition`; relative dates compare with `now` (the wall clock when None)."""
    if condition.all is not None:
        return all(evaluate(c, record, exists, ops, now) for c in condition.all)
    if condition.any is not None:
        return any(evaluate(c, record, exists, ops, now) for c in condition.any)
    if condition.not_ is not None:
        return not evaluate(condition.not_, record, exists, ops, now)
    assert condition.field is not None and condition.op is not None
    actual = _actual(condition.field, record, exists)
    if now is not None and condition.op in TIME_OPS:
        return TIME_OPS[condition.op](actual, condition.value, now)
    return ops[condition.op](actual, condition.value)


def _actual(field: str, record: Record, exists: bool) -> Any:
    return exists if field == EXISTS_FIELD else read(record, field)


def _shown(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def why_not(
    condition: Condition, record: Record, exists: bool, ops: Mapping[str, Op], now: datetime | None = None
) -> str | None:
    """The part of `condition` that `record` fails, with the value it has; None when it matches."""
    if evaluate(condition, record, exists, ops, now):
        return None
    if condition.all is not None:
        failing = next(c for c in condition.all if not evaluate(c, record, exists, ops, now))
        return why_not(failing, record, exists, ops, now)
    if condition.any is not None:
        parts = (why_not(c, record, exists, ops, now) or describe(c) for c in condition.any)
        return "none of (" + "; ".join(parts) + ")"
    if condition.not_ is not None:
        return f"not ({describe(condition.not_)}) fails: it matches"
    assert condition.field is not None
    return f"{describe(condition)} fails ({condition.field} is {_shown(_actual(condition.field, record, exists))})"


def unknown_ops(condition: Condition, ops: Mapping[str, Op]) -> list[str]:
    if condition.all is not None or condition.any is not None:
        return [op for c in (condition.all or condition.any or []) for op in unknown_ops(c, ops)]
    if condition.not_ is not None:
        return unknown_ops(condition.not_, ops)
    return [condition.op] if condition.op and condition.op not in ops else []


def fields_of(condition: Condition) -> list[str]:
    if condition.all is not None or condition.any is not None:
        return [f for c in (condition.all or condition.any or []) for f in fields_of(c)]
    if condition.not_ is not None:
        return fields_of(condition.not_)
    return [condition.field] if condition.field else []
