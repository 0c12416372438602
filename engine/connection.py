"""Turning one configured connection into what the planner needs: mapper, filters, warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from engine.conditions import EXISTS_FIELD, fields_of, unknown_ops, uses_clock, why_not
from engine.config.errors import suggest
from engine.config.loaded import AccountSetup, LoadedConfig
from engine.config.models import Connection, Direction, FieldMapping
from engine.connector import ChangeTimes, Connector, FieldSchema
from engine.mapping import Mapper, build_entries, check_entries, default_mappings, merge_entries
from engine.planner.base import Filter
from engine.planner.merge import TIE_BREAK
from engine.planner.model import SIDES, Side
from engine.plugins import Registry
from engine.records import Record
from engine.rules import paths

Located = tuple[tuple[str | int, ...], str]


@dataclass
class Prepared:
    connection: Connection
    accounts: dict[Side, AccountSetup]
    mapper: Mapper
    filters: dict[Side, Filter]
    warnings: list[str] = field(default_factory=list)

    @property
    def clocked(self) -> bool:
        """Whether an IF condition compares with today (the planner then checks every link each run)."""
        return any(uses_clock(getattr(self.connection.if_, side)) for side in SIDES)


def _schemas(accounts: dict[Side, AccountSetup]) -> dict[Side, FieldSchema]:
    return {side: accounts[side].connector.schema for side in SIDES}


def field_mappings(connection: Connection, accounts: dict[Side, AccountSetup], plugins: Registry) -> list[FieldMapping]:
    defaults: list[FieldMapping] = []
    if connection.mapping.defaults:
        defaults = default_mappings(
            accounts["left"].connector.name, accounts["right"].connector.name, _schemas(accounts), plugins.mapping_dirs
        )
    return merge_entries(defaults, connection.mapping.fields)


def prepare(loaded: LoadedConfig, connection: Connection, plugins: Registry) -> Prepared:
    accounts: dict[Side, AccountSetup] = {side: loaded.side(connection, side) for side in SIDES}
    entries = build_entries(
        field_mappings(connection, accounts, plugins), connection.resolved_direction, plugins.transforms
    )
    mapper = Mapper(entries, _schemas(accounts), connection.id_field)
    options = loaded.options.get(connection.name, {})
    filters = {side: _filter(connection, side, accounts[side].connector, options.get(side), plugins) for side in SIDES}
    return Prepared(connection, accounts, mapper, filters, warnings(connection, accounts))


def _filter(
    connection: Connection, side: Side, connector: type[Connector], options: BaseModel | None, plugins: Registry
) -> Filter:
    condition = getattr(connection.if_, side)

    def check(record: Record, exists: bool, now: datetime) -> str | None:
        reason = connector.skip_reason(record, options)
        if reason is not None:
            return reason
        failed = None if condition is None else why_not(condition, record, exists, plugins.condition_ops, now)
        return None if failed is None else f"IF {side}: {failed}"

    return check


def warnings(connection: Connection, accounts: dict[Side, AccountSetup]) -> list[str]:
    """What validate, plan and run say before anything is written."""
    found: list[str] = []
    for side in SIDES:
        cls = accounts[side].connector
        caps = accounts[side].capabilities
        other: Side = "right" if side == "left" else "left"
        if connection.direction is None and caps.source_of_truth:
            one_way = "left-to-right" if side == "left" else "right-to-left"
            found.append(
                f"connection {connection.name!r}: direction defaults to two-way, so edits in "
                f"{accounts[other].connector.name} flow into {cls.name}, usually the source of truth "
                f"({caps.source_of_truth_reason or 'its data is authoritative'}). "
                f"Set `direction: {one_way}` unless you mean it."
            )
        for action in getattr(connection.then, side):
            if action.set_field and caps.source_of_truth:
                found.append(
                    f"connection {connection.name!r}: THEN set_field {action.set_field!r} writes into "
                    f"{cls.name}, the source of truth ({caps.source_of_truth_reason})."
                )
        if connection.deletions.enabled and not accounts[other].capabilities.tags:
            found.append(
                f"connection {connection.name!r}: deletions in {cls.name} cannot be synced as tags: "
                f"{accounts[other].connector.name} has no tags."
            )
    found += _untimed_warnings(connection, accounts)
    if connection.unsubscribes.enabled and not any(accounts[s].capabilities.unsubscribe_signal for s in SIDES):
        found.append(
            f"connection {connection.name!r}: neither {accounts['left'].connector.name} nor "
            f"{accounts['right'].connector.name} reports unsubscribes, so none will be synced."
        )
    return found


def _untimed_warnings(connection: Connection, accounts: dict[Side, AccountSetup]) -> list[str]:
    """`conflict: newest` needs change times; say where a side cannot give them and what wins instead."""
    if connection.conflict != "newest" or connection.resolved_direction is not Direction.TWO_WAY:
        return []
    found = []
    for side in SIDES:
        times = accounts[side].capabilities.change_times
        if times is ChangeTimes.ALWAYS:
            continue
        when = "on a full read (the first run, --full, an expired cursor)" if times is ChangeTimes.CHANGE_FEED else ""
        found.append(
            f"connection {connection.name!r}: {accounts[side].connector.name} cannot tell when a record changed"
            f"{' ' + when if when else ''}; under `conflict: newest` a field changed on both sides then goes to "
            f"the tie-break: the {TIE_BREAK} side wins. Set `conflict: left` or `conflict: right` to choose."
        )
    return found


def check_connection(connection: Connection, accounts: dict[Side, AccountSetup], plugins: Registry) -> list[Located]:
    """Mapping, condition and action problems, each with its path inside the connection."""
    problems: list[Located] = []
    schemas = _schemas(accounts)
    names = {side: accounts[side].connector.name for side in SIDES}
    for index, key, message in check_entries(connection.mapping.fields, schemas, names, plugins.transforms):
        problems.append((("mapping", "fields", index, key), message))
    for side in SIDES:
        condition = getattr(connection.if_, side)
        if condition is not None:
            problems += _condition_problems(condition, side, schemas[side], names[side], plugins)
        for index, action in enumerate(getattr(connection.then, side)):
            if action.if_ is not None:  # evaluated on the source record: the other side's fields
                source: Side = "right" if side == "left" else "left"
                found = _condition_problems(action.if_, source, schemas[source], names[source], plugins)
                problems += [(("then", side, index, "if"), message) for _path, message in found]
            if action.set_field and not schemas[side].writable(action.set_field):
                problems.append(
                    (
                        ("then", side, index, "set_field"),
                        f"{names[side]} has no writable field {action.set_field!r}"
                        f"{suggest(action.set_field, schemas[side].names())}",
                    )
                )
    for side in SIDES:
        name = getattr(connection.match, side)
        if name is not None and not schemas[side].has(name):
            problems.append(
                (
                    ("match", side),
                    f"{names[side]} has no field {name!r}"
                    f"{suggest(name, schemas[side].names())}; its fields: {', '.join(schemas[side].names())}",
                )
            )
    if connection.id_field and not schemas["left"].writable(connection.id_field):
        problems.append((("id_field",), f"{names['left']} has no writable field {connection.id_field!r}"))
    return problems


def _condition_problems(condition: Any, side: Side, schema: FieldSchema, name: str, plugins: Registry) -> list[Located]:
    problems: list[Located] = []
    for op in unknown_ops(condition, plugins.condition_ops):
        problems.append(
            (
                ("if", side),
                f"unknown operator {op!r}{suggest(op, plugins.condition_ops)} "
                f"(operators: {', '.join(sorted(plugins.condition_ops))})",
            )
        )
    for field_name in fields_of(condition):
        problem = paths.path_problem(field_name)
        if problem is not None:
            problems.append((("if", side), problem))
        elif field_name != EXISTS_FIELD and not paths.known(schema, field_name):
            problems.append(
                (
                    ("if", side),
                    f"{name} has no field {field_name!r}{suggest(field_name, schema.names())}; "
                    f"its fields: {', '.join(schema.names())}",
                )
            )
    return problems


def match_fields(connection: Connection, accounts: dict[Side, AccountSetup]) -> dict[Side, str]:
    return {side: getattr(connection.match, side) or accounts[side].connector.match_field for side in SIDES}
