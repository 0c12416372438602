"""Stripe's search query language, as its search guide documents it.

A query is up to 10 clauses `field OP value`, joined by spaces or `AND` (all
must hold) or by `OR` (any may hold); `AND` and `OR` never mix, and there are
no parentheses. A clause is negated with a leading `-`. Operators: `:` exact
(every field), `~` substring of at least 3 characters (string fields that
allow it), `>`, `<`, `>=`, `<=` (numeric fields). Strings are quoted with
double or single quotes, with backslash escapes; numbers may go unquoted;
`field:null` matches a missing value; `metadata["key"]` reaches a metadata key.
What the guide does not allow is refused with Stripe's 400, never answered
with a silently wrong result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

MAX_CLAUSES = 10
MIN_SUBSTRING = 3
NUMERIC_OPS = (">=", "<=", ">", "<")

# Per resource: field -> kind. "string~" allows substring matching; "token" and "string" are exact only.
CUSTOMER_FIELDS = {"created": "numeric", "email": "string~", "metadata": "token", "name": "string~",
                   "phone": "string~"}
PRODUCT_FIELDS = {"active": "boolean", "created": "numeric", "description": "string~", "metadata": "token",
                  "name": "string~", "shippable": "boolean", "url": "string~"}
PRICE_FIELDS = {"active": "boolean", "currency": "string", "lookup_key": "string", "metadata": "token",
                "product": "string", "type": "token"}
SUBSCRIPTION_FIELDS = {"created": "numeric", "metadata": "token", "status": "string"}

_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?
    (?P<field>[a-z_]+)(?:\[(?P<kq>["'])(?P<key>(?:\\.|(?!(?P=kq)).)*)(?P=kq)\])?
    (?P<op>>=|<=|:|~|>|<)
    (?:(?P<q>["'])(?P<quoted>(?:\\.|(?!(?P=q)).)*)(?P=q)|(?P<bare>[^\s"']+))""",
    re.VERBOSE | re.DOTALL,
)
_JOINER = re.compile(r"\s+(?P<word>AND|OR)\s+|\s+", re.IGNORECASE)

Matcher = Callable[[dict[str, Any]], bool]


def invalid(message: str) -> ApiError:
    return ApiError(400, message, param="query", code="parameter_invalid")


@dataclass(frozen=True)
class Clause:
    field: str
    key: str | None
    op: str
    value: str | None  # None: the literal null
    quoted: bool
    negated: bool


def parse(query: str) -> tuple[list[Clause], str]:
    """The clauses and how they join ("AND" or "OR"), or Stripe's 400 naming what is wrong."""
    text = query.strip()
    if not text:
        raise ApiError(400, "Missing required param: query.", code="parameter_missing", param="query")
    clauses: list[Clause] = []
    joiners: set[str] = set()
    position = 0
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise invalid(f"The query is malformed at character {position}: {text[position:position + 30]!r}. "
                          "See https://stripe.com/docs/search#search-query-language.")
        clauses.append(_clause(match))
        position = match.end()
        if position == len(text):
            break
        join = _JOINER.match(text, position)
        if join is None:
            raise invalid(f"The query is malformed at character {position}: {text[position:position + 30]!r}.")
        joiners.add((join["word"] or "AND").upper())
        position = join.end()
    if len(joiners) > 1:
        raise invalid("The query cannot combine AND and OR clauses.")
    if len(clauses) > MAX_CLAUSES:
        raise invalid(f"The query has {len(clauses)} clauses; at most {MAX_CLAUSES} are allowed.")
    return clauses, joiners.pop() if joiners else "AND"


def _clause(match: re.Match[str]) -> Clause:
    quoted = match["q"] is not None
    raw = match["quoted"] if quoted else match["bare"]
    value: str | None = re.sub(r"\\(.)", r"\1", raw)
    if not quoted and raw == "null":
        value = None
    key = re.sub(r"\\(.)", r"\1", match["key"]) if match["key"] is not None else None
    return Clause(match["field"], key, match["op"], value, quoted, bool(match["neg"]))


def matcher(query: str, fields: dict[str, str]) -> Matcher:
    """A predicate over objects for `query`, checked against the resource's query fields."""
    clauses, joiner = parse(query)
    checks = [_check(clause, fields) for clause in clauses]
    combine = any if joiner == "OR" else all
    return lambda obj: combine(check(obj) for check in checks)


def _check(clause: Clause, fields: dict[str, str]) -> Matcher:
    kind = fields.get(clause.field)
    if kind is None:
        raise invalid(f"Field '{clause.field}' is an unsupported search field for this resource. "
                      f"Supported fields: {', '.join(sorted(fields))}.")
    if clause.field == "metadata" and clause.key is None:
        raise invalid("metadata must name a key: metadata[\"key\"]:\"value\".")
    if clause.key is not None and clause.field != "metadata":
        raise invalid(f"Field '{clause.field}' does not take a key.")
    if clause.op == "~" and kind != "string~":
        raise invalid(f"Field '{clause.field}' does not support substring matching (~).")
    if clause.op == "~" and len(clause.value or "") < MIN_SUBSTRING:
        raise invalid(f"Substring matching (~) needs at least {MIN_SUBSTRING} characters.")
    if clause.op in NUMERIC_OPS and kind != "numeric":
        raise invalid(f"Field '{clause.field}' does not support the comparison operator {clause.op}.")
    if kind != "numeric" and not clause.quoted and clause.value is not None and kind != "boolean":
        raise invalid(f"The value for '{clause.field}' must be quoted: {clause.field}:\"{clause.value}\".")
    test = _positive(clause, kind)
    return (lambda obj: not test(obj)) if clause.negated else test


def _positive(clause: Clause, kind: str) -> Matcher:
    def actual(obj: dict[str, Any]) -> Any:
        if clause.key is not None:
            return (obj.get("metadata") or {}).get(clause.key)
        return obj.get(clause.field)

    if clause.value is None:
        return lambda obj: actual(obj) in (None, "")
    wanted = clause.value
    if kind == "numeric":
        number = _number(clause)
        compare: dict[str, Callable[[float], bool]] = {
            ":": lambda v: v == number, ">": lambda v: v > number, "<": lambda v: v < number,
            ">=": lambda v: v >= number, "<=": lambda v: v <= number,
        }
        check = compare[clause.op]
        return lambda obj: isinstance(actual(obj), int | float) and check(actual(obj))
    if kind == "boolean":
        if wanted not in ("true", "false"):
            raise invalid(f"The value for '{clause.field}' must be true or false.")
        return lambda obj: actual(obj) is (wanted == "true")
    if clause.op == "~":
        return lambda obj: actual(obj) is not None and wanted.casefold() in str(actual(obj)).casefold()
    # Exact matches are case-insensitive for strings, as at Stripe (email:"AMY@x.io" finds amy@x.io).
    return lambda obj: actual(obj) is not None and str(actual(obj)).casefold() == wanted.casefold()


def _number(clause: Clause) -> float:
    try:
        return float(clause.value or "")
    except ValueError:
        raise invalid(f"The value for '{clause.field}' must be a number (a Unix timestamp for created).") from None
