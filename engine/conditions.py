"""IF conditions: data (`{all|any|not|field, op, value}`) evaluated by code, never strings run as code.

`exists_on_other_side` is a field every record has: whether it is linked to,
or matches, a record of the other side before the sync. Field names may end
in a JSONPath (`plans$[*].price`, see engine/rules/paths.py). `why_not`
names the part of a condition that left a record out, for `plan`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


@hookimpl
def register_condition_ops(register: Callable[[str, Op], None]) -> None:
    for name, op in BUILTIN_OPS.items():
        register(name, op)


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


def evaluate(condition: Condition, record: Record, exists: bool, ops: Mapping[str, Op]) -> bool:
    if condition.all is not None:
        return all(evaluate(c, record, exists, ops) for c in condition.all)
    if condition.any is not None:
        return any(evaluate(c, record, exists, ops) for c in condition.any)
    if condition.not_ is not None:
        return not evaluate(condition.not_, record, exists, ops)
    assert condition.field is not None and condition.op is not None
    return ops[condition.op](_actual(condition.field, record, exists), condition.value)


def _actual(field: str, record: Record, exists: bool) -> Any:
    return exists if field == EXISTS_FIELD else read(record, field)


def _shown(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def why_not(condition: Condition, record: Record, exists: bool, ops: Mapping[str, Op]) -> str | None:
    """The part of `condition` that `record` fails, with the value it has; None when it matches."""
    if evaluate(condition, record, exists, ops):
        return None
    if condition.all is not None:
        failing = next(c for c in condition.all if not evaluate(c, record, exists, ops))
        return why_not(failing, record, exists, ops)
    if condition.any is not None:
        return "none of (" + "; ".join(why_not(c, record, exists, ops) or describe(c) for c in condition.any) + ")"
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
