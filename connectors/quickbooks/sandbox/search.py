"""Running a parsed query against the sandbox store, answering like the query endpoint."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connectors.quickbooks.sandbox.faults import ApiFault
from connectors.quickbooks.sandbox.qql import Condition, QueryError, parse
from connectors.quickbooks.sandbox.schema import canonical
from connectors.quickbooks.sandbox.store import Store, lookup


def run(store: Store, statement: str) -> dict[str, Any]:
    """The `QueryResponse` for one statement; parse errors become QueryParserError faults."""
    try:
        query = parse(statement)
    except QueryError as error:
        raise ApiFault("4000", "Error parsing query", f"QueryParserError: {error}") from error
    if query.entity.casefold() != "customer":
        detail = f"QueryValidationError: the sandbox serves Customer, not {query.entity}"
        raise ApiFault("4001", "Invalid query", detail)
    query.conditions = [Condition(_property(c.field), c.op, c.value) for c in query.conditions]
    query.order = [(_property(name), descending) for name, descending in query.order]
    with store.lock:
        customers = list(store.customers.values())
    conditions = list(query.conditions)
    if not any(c.field == "Active" for c in conditions):
        conditions.append(Condition("Active", "=", True))  # like QuickBooks: inactive names only when asked
    matched = [c for c in customers if all(_holds(c, cond) for cond in conditions)]
    if query.count:
        return {"totalCount": len(matched)}
    for name, descending in reversed(query.order or [("Id", False)]):
        matched.sort(key=_sorter(name), reverse=descending)
    window = matched[query.start - 1 : query.start - 1 + query.max_results]
    if not window:
        return {}
    return {"Customer": window, "startPosition": query.start, "maxResults": len(window)}


def _property(name: str) -> str:
    """The documented spelling of a queried property, whatever its letter case; unknown ones are refused."""
    found = canonical(name)
    if found is None:
        raise ApiFault("4001", "Invalid query", f"QueryValidationError: property '{name}' is not queryable")
    return found


def _sorter(name: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda customer: _sort_key(_value(customer, name))


def _value(customer: Mapping[str, Any], name: str) -> Any:
    if name == "Active":
        return customer.get("Active", True)
    return lookup(customer, name)


def _normal(value: Any) -> Any:
    """Comparable form: numbers for digit strings, datetimes for times, folded case for text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.isdigit():
        return int(text)
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text.casefold()
    return text.casefold()


def _sort_key(value: Any) -> tuple[int, Any]:
    normal = _normal(value)
    if normal is None:
        return (0, 0)
    if isinstance(normal, (int, float)):
        return (1, normal)
    if isinstance(normal, datetime):
        return (2, normal.timestamp())
    return (3, str(normal))


def _holds(customer: Mapping[str, Any], condition: Condition) -> bool:
    actual = _normal(_value(customer, condition.field))
    if condition.op == "IN":
        return any(bool(actual == _normal(v)) for v in condition.value)
    if condition.op == "LIKE":
        pattern = ".*".join(re.escape(part) for part in str(condition.value).casefold().split("%"))
        return actual is not None and re.fullmatch(pattern, str(actual), re.DOTALL) is not None
    expected = _normal(condition.value)
    if condition.op == "=":
        return bool(actual == expected)
    if condition.op == "!=":
        return bool(actual != expected)
    if actual is None or type(actual) is not type(expected):
        return False
    comparisons = {"<": actual < expected, ">": actual > expected, "<=": actual <= expected, ">=": actual >= expected}
    return bool(comparisons[condition.op])
