"""Field mappings: default pair files, a connection's own entries, and the pure Mapper the planner uses.

Each mapping entry has a key. `project` turns a record of one side into
{key: canonical value}; `render` turns canonical values back into that
side's fields, writing only what differs from the current record. A full
name on one side against first and last names on the other is an entry
with one field on one side and two or three on the other. A field name may
end in a JSONPath (`plans$[*].product_name`, engine/rules/paths.py); such a
field is read, never written. `id_field` adds a one-way entry from the right
record's id into that field of the left record (see the planner).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from engine.config.errors import suggest
from engine.config.models import Direction, FieldMapping
from engine.connector import FieldSchema
from engine.names import join_name, split_name
from engine.planner.model import Side
from engine.records import Record
from engine.rules import paths

Transform = Callable[..., Any]


@dataclass(frozen=True)
class Entry:
    key: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    direction: Direction
    transform: Transform | None = None
    transform_args: tuple[tuple[str, Any], ...] = ()

    def fields(self, side: Side) -> tuple[str, ...]:
        return self.left if side == "left" else self.right

    @property
    def is_name(self) -> bool:
        return len(self.left) != len(self.right)


def entry_key(left: Sequence[str], right: Sequence[str]) -> str:
    return f"{'+'.join(left)}|{'+'.join(right)}"


def _as_tuple(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


class Mapper:
    """Pure conversion between records and canonical per-entry values."""

    def __init__(
        self, entries: Sequence[Entry], schemas: Mapping[Side, FieldSchema], id_field: str | None = None
    ) -> None:
        self.entries = list(entries)
        self.id_key: str | None = None
        if id_field is not None:
            id_entry = Entry(entry_key((id_field,), ("id",)), (id_field,), ("id",), Direction.RIGHT_TO_LEFT)
            self.entries.append(id_entry)
            self.id_key = id_entry.key
        self.by_key = {e.key: e for e in self.entries}
        self.schemas = schemas
        self._writable: dict[tuple[str, Side, Direction], bool] = {}
        self._readers: dict[Side, list[tuple[str, Callable[[Record], Any]]]] = {
            side: [(e.key, self._reader(e, side)) for e in self.entries] for side in ("left", "right")
        }

    def project(self, side: Side, record: Record) -> dict[str, Any]:
        return {key: read(record) for key, read in self._readers[side]}

    def _reader(self, entry: Entry, side: Side) -> Callable[[Record], Any]:
        """How `project` reads one entry of one side: most entries are one plain field, read straight from the
        record's fields (every record of every run goes through here, twice for a linked pair); names and
        JSONPaths take the general way."""
        names = entry.fields(side)
        if entry.is_name or names[0] == "id" or paths.path_of(names[0]) is not None:
            return functools.partial(self._value, entry, side)
        name = names[0]
        return lambda record: _cleaned(entry, record.fields.get(name))

    def _value(self, entry: Entry, side: Side, record: Record) -> Any:
        names = entry.fields(side)
        if entry.is_name:
            count = max(len(entry.left), len(entry.right))
            if len(names) == 1:
                parts = split_name(record.get(names[0]), count)
            else:
                parts = tuple(str(record.get(n) or "").strip() for n in names)
            return None if not any(parts) else list(parts)
        return _cleaned(entry, paths.read(record, names[0]))

    def can_write(self, key: str, side: Side, direction: Direction) -> bool:
        """Whether values may flow into `side` for this entry (direction and read-only fields).

        Asked for every value of every record a plan creates or updates, and fixed by the mapping and the
        schemas: worked out once per entry, side and direction."""
        known = self._writable.get((key, side, direction))
        if known is None:
            known = self._writable[(key, side, direction)] = self._can_write(key, side, direction)
        return known

    def _can_write(self, key: str, side: Side, direction: Direction) -> bool:
        entry = self.by_key[key]
        effective = entry.direction if entry.direction else direction
        if not effective.writes(side):
            return False
        return all(paths.writable(self.schemas[side], name) for name in entry.fields(side))

    def render(self, side: Side, values: Mapping[str, Any], current: Record | None) -> dict[str, Any]:
        """The fields of `side` to write so it holds `values`; only fields that differ from `current`."""
        out: dict[str, Any] = {}
        for key, value in values.items():
            entry = self.by_key[key]
            for name, new in self._fields_for(entry, side, value, current).items():
                old = current.get(name) if current is not None else None
                if _empty(new) and _empty(old):
                    continue
                if current is None or new != old:
                    out[name] = None if _empty(new) else new
        return out

    def _fields_for(self, entry: Entry, side: Side, value: Any, current: Record | None) -> dict[str, Any]:
        names = entry.fields(side)
        if not entry.is_name:
            return {names[0]: value}
        parts = tuple(value) if value else ("",) * max(len(entry.left), len(entry.right))
        if len(names) == 1:
            existing = current.get(names[0]) if current is not None else None
            return {names[0]: join_name(parts, existing) or None}
        return {name: part or None for name, part in zip(names, parts, strict=False)}


def _cleaned(entry: Entry, value: Any) -> Any:
    """A field's canonical value: transformed, stripped, and None when empty."""
    if entry.transform is not None:
        value = _transformed(entry, value)
    if isinstance(value, str):
        value = value.strip()
    return None if _empty(value) else value


def _transformed(entry: Entry, value: Any) -> Any:
    """The transform's result; a transform that raises leaves the value as it was (a bad value fails alone)."""
    assert entry.transform is not None
    try:
        return entry.transform(value, **dict(entry.transform_args))
    except Exception:  # noqa: BLE001 - a plugin transform's error must not stop the whole plan
        return value


def load_pair_file(path: Path) -> list[FieldMapping]:
    data = yaml.safe_load(path.read_text()) or {}
    return [FieldMapping.model_validate(item) for item in data.get("fields", [])]


def _mapping_dirs(extra: Sequence[Path]) -> list[Path]:
    return [Path(str(files("mappings"))), *extra]


@functools.lru_cache(maxsize=64)
def _find_pair(left: str, right: str, extra: tuple[Path, ...]) -> tuple[Path, bool] | None:
    for folder in _mapping_dirs(extra):
        if (folder / f"{left}__{right}.yaml").exists():
            return folder / f"{left}__{right}.yaml", False
        if (folder / f"{right}__{left}.yaml").exists():
            return folder / f"{right}__{left}.yaml", True
    return None


def default_mappings(
    left: str, right: str, schemas: Mapping[Side, FieldSchema], extra_dirs: Sequence[Path] = ()
) -> list[FieldMapping]:
    """The pair file for these two connectors (either order), else the fields both schemas share."""
    found = _find_pair(left, right, tuple(extra_dirs))
    if found is not None:
        path, swapped = found
        entries = load_pair_file(path)
        if swapped:
            entries = [
                e.model_copy(update={"left": e.right, "right": e.left, "direction": _swap(e.direction)})
                for e in entries
            ]
        return entries
    shared = [n for n in schemas["left"].names() if n in schemas["right"].names()]
    return [
        FieldMapping(left=n, right=n) for n in shared if schemas["left"].writable(n) or schemas["right"].writable(n)
    ]


def _swap(direction: Direction | None) -> Direction | None:
    if direction is Direction.LEFT_TO_RIGHT:
        return Direction.RIGHT_TO_LEFT
    if direction is Direction.RIGHT_TO_LEFT:
        return Direction.LEFT_TO_RIGHT
    return direction


def merge_entries(defaults: Sequence[FieldMapping], own: Sequence[FieldMapping]) -> list[FieldMapping]:
    """A connection's own entries override defaults that map any of the same fields; the rest add."""
    result: list[FieldMapping] = []
    own_left = {f for e in own for f in _as_tuple(e.left)}
    own_right = {f for e in own for f in _as_tuple(e.right)}
    for entry in defaults:
        if own_left.intersection(_as_tuple(entry.left)) or own_right.intersection(_as_tuple(entry.right)):
            continue
        result.append(entry)
    return [*result, *own]


def build_entries(
    mappings: Sequence[FieldMapping], direction: Direction, transforms: Mapping[str, Transform]
) -> list[Entry]:
    entries = []
    for item in mappings:
        if not item.enabled:
            continue
        left, right = _as_tuple(item.left), _as_tuple(item.right)
        transform = transforms[item.transform] if item.transform else None
        entries.append(
            Entry(
                key=entry_key(left, right),
                left=left,
                right=right,
                direction=item.direction or direction,
                transform=transform,
                transform_args=tuple(sorted(item.transform_args.items())),
            )
        )
    return entries


def check_entries(
    mappings: Sequence[FieldMapping],
    schemas: Mapping[Side, FieldSchema],
    connectors: Mapping[Side, str],
    transforms: Mapping[str, Transform],
) -> list[tuple[int, str, str]]:
    """Problems as (entry index, key, message): unknown fields (listing the fields there are), transforms, shapes."""
    problems: list[tuple[int, str, str]] = []
    for index, item in enumerate(mappings):
        sides: tuple[tuple[Side, tuple[str, ...]], ...] = (
            ("left", _as_tuple(item.left)),
            ("right", _as_tuple(item.right)),
        )
        for side, names in sides:
            for name in names:
                problem = paths.path_problem(name)
                if problem is not None:
                    problems.append((index, side, problem))
                elif not paths.known(schemas[side], name):
                    have = ", ".join(schemas[side].names())
                    prefixes = ", ".join(f"{p}<key>" for p in schemas[side].custom_prefixes)
                    problems.append(
                        (
                            index,
                            side,
                            f"{connectors[side]} has no field {name!r}{suggest(name, schemas[side].names())}; "
                            f"its fields: {have}" + (f" and custom fields {prefixes}" if prefixes else ""),
                        )
                    )
        lengths = {len(sides[0][1]), len(sides[1][1])}
        if 1 not in lengths:
            problems.append(
                (
                    index,
                    "right",
                    "a split/join entry has one field on one side and 2 or 3 on the other; "
                    "map fields that match one to one in entries of their own",
                )
            )
        if max(lengths) > 3:
            problems.append((index, "right", "a name entry joins at most 3 fields (first, middle, last)"))
        if item.transform and item.transform not in transforms:
            problems.append(
                (
                    index,
                    "transform",
                    f"no transform named {item.transform!r}"
                    f"{suggest(item.transform, transforms)} (known: {', '.join(sorted(transforms))})",
                )
            )
    return problems
