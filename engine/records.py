"""The values that cross the plugin boundary: records, write requests and their results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """One customer or contact as a connector reads it.

    `fields` is flat: nested values use dotted names (`address.city`,
    `metadata.plan`), so mappings and conditions address every field the same way.
    """

    id: str
    fields: Mapping[str, Any]
    updated: datetime | None = None
    deleted: bool = False
    tags: frozenset[str] = frozenset()
    unsubscribed: bool = False
    previous_ids: tuple[str, ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        """The value of one field, or `default` when the record lacks it."""
        if name == "id":
            return self.id
        return self.fields.get(name, default)


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """Create (`id` is None) or sparse update (only `fields` change) of one record.

    `key` is stable across retries and restarts (it comes from the engine's
    write journal): connectors with idempotency support send it as the key,
    so a resumed create never makes a second record.
    """

    key: str
    id: str | None
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one WriteRequest: the record as written, or the error for it alone."""

    key: str
    id: str | None = None
    record: Record | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing. The last page carries the cursor for the next incremental read."""

    records: list[Record] = field(default_factory=list)
    cursor: Any = None
    last: bool = False
    full: bool = False
    note: str | None = None


def match_key(value: Any) -> str | None:
    """The matching form of a value: trimmed and lower-cased; None for empty values.

    Never case-folded: folding makes `straße@example.com` and `strasse@example.com` one key, which
    would link two people and overwrite one with the other.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None
