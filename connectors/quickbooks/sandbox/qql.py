"""The subset of the QuickBooks query language the sandbox understands.

`SELECT * | COUNT(*) FROM Customer [WHERE cond AND ...] [ORDERBY f [ASC|DESC], ...]
[STARTPOSITION n] [MAXRESULTS n]` with conditions `=`, `!=`, `<`, `>`, `<=`, `>=`,
`LIKE` (`%` wildcard) and `IN (...)`; strings are single-quoted with backslash escapes.
Keywords, the entity and property names are matched without regard to case, as
QuickBooks matches them; without MAXRESULTS a page holds 100 entities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100  # QuickBooks' page when a statement has no MAXRESULTS
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op><=|>=|!=|<>|=|<|>|\(|\)|,|\*))",
    re.DOTALL,
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "ORDERBY", "ASC", "DESC", "STARTPOSITION", "MAXRESULTS", "IN", "LIKE"}


class QueryError(Exception):
    """A statement the parser refuses; the message says where."""


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, name, keyword, op, bool
    value: Any


@dataclass
class Condition:
    field: str
    op: str
    value: Any


@dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1], flags=re.DOTALL)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"Encountered unexpected text at position {position}: {text[position:position + 20]!r}")
        position = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            tokens.append(Token("string", _unescape(raw)))
        elif kind == "number":
            tokens.append(Token("number", float(raw) if "." in raw else int(raw)))
        elif kind == "name" and raw.upper() in _KEYWORDS:
            tokens.append(Token("keyword", raw.upper()))
        elif kind == "name" and raw.lower() in ("true", "false"):
            tokens.append(Token("bool", raw.lower() == "true"))
        else:
            tokens.append(Token(kind, raw))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: Any = None) -> Token:
        token = self.peek()
        if token is None or token.kind != kind or (value is not None and token.value != value):
            found = "end of statement" if token is None else repr(token.value)
            raise QueryError(f"Encountered {found}, expected {value or kind}")
        self.i += 1
        return token

    def accept(self, kind: str, value: Any = None) -> bool:
        token = self.peek()
        if token is not None and token.kind == kind and (value is None or token.value == value):
            self.i += 1
            return True
        return False

    def literal(self) -> Any:
        token = self.peek()
        if token is None or token.kind not in ("string", "number", "bool"):
            raise QueryError(f"Encountered {token.value if token else 'end of statement'!r}, expected a value")
        self.i += 1
        return token.value

    def condition(self) -> Condition:
        name = self.take("name").value
        if self.accept("keyword", "IN"):
            self.take("op", "(")
            values = [self.literal()]
            while self.accept("op", ","):
                values.append(self.literal())
            self.take("op", ")")
            return Condition(name, "IN", values)
        if self.accept("keyword", "LIKE"):
            return Condition(name, "LIKE", self.take("string").value)
        token = self.peek()
        if token is None or token.kind != "op" or token.value not in ("=", "!=", "<>", "<", ">", "<=", ">="):
            raise QueryError(f"Encountered {token.value if token else 'end of statement'!r}, expected an operator")
        self.i += 1
        return Condition(name, "!=" if token.value == "<>" else token.value, self.literal())

    def parse(self) -> Query:
        self.take("keyword", "SELECT")
        count = False
        token = self.peek()
        if token is not None and token.kind == "name" and str(token.value).upper() == "COUNT":
            self.i += 1
            self.take("op", "(")
            self.take("op", "*")
            self.take("op", ")")
            count = True
        else:
            self.take("op", "*")
        self.take("keyword", "FROM")
        query = Query(entity=self.take("name").value, count=count)
        if self.accept("keyword", "WHERE"):
            query.conditions.append(self.condition())
            while self.accept("keyword", "AND"):
                query.conditions.append(self.condition())
        if self.accept("keyword", "ORDERBY"):
            query.order.append(self.order_item())
            while self.accept("op", ","):
                query.order.append(self.order_item())
        if self.accept("keyword", "STARTPOSITION"):
            query.start = int(self.take("number").value)
        if self.accept("keyword", "MAXRESULTS"):
            query.max_results = int(self.take("number").value)
        if self.peek() is not None:
            raise QueryError(f"Encountered {self.peek().value!r} after the end of the statement")  # type: ignore[union-attr]
        if query.start < 1 or not 1 <= query.max_results <= MAX_RESULTS:
            raise QueryError(f"STARTPOSITION must be >= 1 and MAXRESULTS between 1 and {MAX_RESULTS}")
        return query

    def order_item(self) -> tuple[str, bool]:
        name = self.take("name").value
        descending = self.accept("keyword", "DESC")
        if not descending:
            self.accept("keyword", "ASC")
        return name, descending


def parse(text: str) -> Query:
    """Parse one statement or raise QueryError."""
    return _Parser(tokenize(text)).parse()
