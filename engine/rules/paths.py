"""Field names with a JSONPath suffix: `plans$[*].product_name`, `metadata.settings$.tier`.

Records are flat, but some values are not: Stripe's `plans` is a list of
objects, and a metadata value may hold a JSON document. Mappings and
conditions reach inside them by appending a JSONPath (jsonpath-ng, the
extended syntax with filters) to the field name, starting at its `$`. A
value that is a JSON text is parsed first. One match gives that value,
several give a list, none gives None. A field with a path is read-only:
the value flows out of it, never into it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonpath_ng.ext import parse  # type: ignore[attr-defined]

from engine.connector import FieldSchema
from engine.records import Record

PATH_MARK = "$"


def base_field(name: str) -> str:
    """The record field a name reads: everything before the `$` of its path."""
    return name.split(PATH_MARK, 1)[0]


def path_of(name: str) -> str | None:
    """The JSONPath part of a name (starting with `$`), or None for a plain field."""
    if PATH_MARK not in name:
        return None
    return PATH_MARK + name.split(PATH_MARK, 1)[1]


@functools.lru_cache(maxsize=256)
def _compiled(path: str) -> Any:
    return parse(path)


def path_problem(name: str) -> str | None:
    """Why the JSONPath of a field name does not parse, or None when it does (or there is none)."""
    path = path_of(name)
    if path is None:
        return None
    try:
        _compiled(path)
    except Exception as error:  # noqa: BLE001 - jsonpath-ng raises plain Exceptions as well as JSONPathError
        return f"{name!r}: the JSONPath {path!r} does not parse ({error})"
    return None


def _document(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def read(record: Record, name: str) -> Any:
    """The value of a field name, following its JSONPath when it has one."""
    path = path_of(name)
    value = record.get(base_field(name))
    if path is None:
        return value
    document = _document(value)
    if document is None:
        return None
    matches = [match.value for match in _compiled(path).find(document)]
    if not matches:
        return None
    return matches[0] if len(matches) == 1 else matches


def known(schema: FieldSchema, name: str) -> bool:
    """Whether a schema has the field a name reads."""
    return schema.has(base_field(name))


def writable(schema: FieldSchema, name: str) -> bool:
    """Whether values may be written into a name: plain, writable fields only."""
    return path_of(name) is None and schema.writable(name)
