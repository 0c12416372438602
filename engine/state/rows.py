"""Compact forms of stored rows: digests that tell an unchanged row without writing it, JSON decoded on demand."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any


def digest(value: Any) -> str:
    """A short fingerprint of a value as the engine holds it (its repr: quicker than JSON, and types count).

    Equal digests mean equal values; a value that merely looks different (keys in another order)
    only costs one needless write, never a missed one."""
    return hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build or walk many rows without the cyclic garbage collector rescanning every live object meanwhile.

    Rows, records and links hold no reference cycles, so nothing is left for the collector to find;
    at 100,000 records its repeated full passes cost as much as the work itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def stored_json(value: Any) -> Any:
    """A JSON column read as text (SQLite) or already decoded (psycopg): the decoded value either way."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def compact_bases(stored: Sequence[Any]) -> list[dict[str, Any]]:
    """Merge bases as stored (JSON text, or already decoded), two per link, left then right, decoded compactly.

    Every link's base repeats the same mapping keys, a linked pair mostly agrees on its values, and
    many values recur from link to link (first names, segments, countries): decoded one by one, each
    base holds its own copies of all of them. Decoded in one pass, the keys are one string each (the
    JSON decoder reuses a key within one document), and equal texts or lists of texts are one object
    (bases are replaced, never changed in place, so sharing a value cannot leak a change).
    """
    if all(isinstance(value, str) for value in stored):
        bases: list[dict[str, Any]] = json.loads("[" + ",".join(stored) + "]")
    else:
        bases = [stored_json(value) for value in stored]
    texts: dict[str, str] = {}
    lists: dict[tuple[str, ...], list[str]] = {}
    for base in bases:
        for key, value in base.items():
            kind = type(value)
            if kind is str:
                base[key] = texts.setdefault(value, value)
            elif kind is list and all(type(item) is str for item in value):
                shared = [texts.setdefault(item, item) for item in value]
                base[key] = lists.setdefault(tuple(shared), shared)
    return bases


def stored_time(value: datetime | str | None) -> datetime | None:
    """A timestamp column read raw: SQLite gives ISO text, PostgreSQL a datetime; naive ones are UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class JsonFields(Mapping[str, Any]):
    """A record's fields kept as the stored JSON text until something reads them.

    A full re-read replaces most of the stored index with what it just read, so most
    stored records are never looked at: they cost a short string, not a decoded dict.
    """

    __slots__ = ("_data", "_text")

    def __init__(self, text: str | bytes) -> None:
        self._text: str | bytes | None = text
        self._data: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            assert self._text is not None
            self._data = json.loads(self._text)
            self._text = None
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._decoded().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __contains__(self, key: object) -> bool:
        return key in self._decoded()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonFields):
            other = other._decoded()
        return self._decoded() == other

    __hash__ = None  # type: ignore[assignment]  # like the dict it stands for

    def __repr__(self) -> str:
        return repr(self._decoded())

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (self._decoded(),))
