"""What each screen shows, as plain data for the templates (no HTML here; the templates escape everything)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from engine.conditions import describe
from engine.config.models import Action, Condition, Connection, Direction
from engine.connection import field_mappings
from engine.mapping import entry_key
from engine.planner.model import SIDES, Conflict, Create, Plan, Review, Skip, Tag, Update
from engine.plugins import registry
from engine.service import history
from engine.service.app import Service
from engine.state import tables as t
from engine.state.database import aware
from engine.state.locks import holder_dead
from engine.web.health import Health, health

_LOCKS = t.Lock.__table__  # type: ignore[attr-defined]

ARROWS = {
    Direction.TWO_WAY: "both ways",
    Direction.LEFT_TO_RIGHT: "left to right",
    Direction.RIGHT_TO_LEFT: "right to left",
}


@dataclass
class ConnectionRow:
    name: str
    left: str
    right: str
    direction: str
    schedule: str | None
    enabled: bool
    enabled_in_config: bool
    health: Health
    last_run: dict[str, Any] | None
    next_run: datetime | None
    live: Any = None


def connection_row(service: Service, connection: Connection, held: set[str]) -> ConnectionRow:
    name = connection.name
    runs = service.store.runs(name, limit=1)
    last = runs[0] if runs else None
    enabled = connection.enabled and name not in held
    running = service.runs.running(name)
    alive = bool(last and last["status"] == "running" and not running and _lock_held(service, name))
    return ConnectionRow(
        name=name,
        left=connection.left,
        right=connection.right,
        direction=ARROWS[connection.resolved_direction],
        schedule=connection.schedule,
        enabled=enabled,
        enabled_in_config=connection.enabled,
        health=health(last["status"] if last else None, enabled, running, account_status(service, connection), alive),
        last_run=last,
        next_run=service.schedules.next_run(name) if enabled else None,
        live=service.runs.live.get(name),
    )


def account_status(service: Service, connection: Connection) -> str | None:
    """The status of an account of the connection that needs a person (needs reconnect), else None: one source
    of truth, the state store's account health, as `status`, `check` and the API show it."""
    for account in (connection.left, connection.right):
        health = service.store.account_health(account)
        if not health.ok:
            return health.status
    return None


def _lock_held(service: Service, name: str) -> bool:
    """Whether a live process holds the run lock (so a `running` row is alive). Reads only: never takes it."""
    query = select(_LOCKS.c.holder, _LOCKS.c.expires_at).where(_LOCKS.c.name == history.run_lock(name))
    with service.store.engine.begin() as tx:
        row = tx.execute(query).first()
    if row is None:
        return False
    holder, expires = row
    return not holder_dead(holder, aware(expires), datetime.now(UTC))


def connection_rows(service: Service) -> list[ConnectionRow]:
    held = history.held(service.store)
    return [connection_row(service, c, held) for c in service.loaded.config.connections]


# the mapping and the rules ---------------------------------------------------------


@dataclass
class MappingRow:
    left: str
    right: str
    direction: str
    transform: str
    origin: str


def mapping_rows(service: Service, connection: Connection) -> list[MappingRow]:
    """Each field mapping with its direction, transform, and whether it comes from the defaults or the config."""
    loaded = service.loaded
    accounts = {side: loaded.side(connection, side) for side in SIDES}
    own = {entry_key(_as_tuple(f.left), _as_tuple(f.right)) for f in connection.mapping.fields}
    rows = []
    for item in field_mappings(connection, accounts, registry()):
        left, right = _as_tuple(item.left), _as_tuple(item.right)
        direction = item.direction or connection.resolved_direction
        rows.append(
            MappingRow(
                left=" + ".join(left),
                right=" + ".join(right),
                direction=ARROWS[direction] + ("" if item.enabled else " (off)"),
                transform=_transform_words(item.transform, item.transform_args, left, right),
                origin="custom" if entry_key(left, right) in own else "default",
            )
        )
    return rows


def _as_tuple(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _transform_words(name: str | None, args: dict[str, Any], left: tuple[str, ...], right: tuple[str, ...]) -> str:
    if name:
        extra = ", ".join(f"{k}={v}" for k, v in sorted(args.items()))
        return f"{name} ({extra})" if extra else name
    if len(left) != len(right):
        return "name split and joined"
    return "copied as is"


def rule_words(connection: Connection) -> list[str]:
    """The IF conditions and THEN actions as sentences."""
    lines = []
    for side in SIDES:
        condition: Condition | None = getattr(connection.if_, side)
        if condition is not None:
            lines.append(f"IF the {side} record matches {describe(condition)}, it is synced; otherwise it is left out.")
    for side in SIDES:
        actions: list[Action] = getattr(connection.then, side)
        for action in actions:
            lines.append(f"THEN, when writing into the {side} side, {_action_words(action)}.")
    rule = connection.deletions
    if rule.enabled:
        waits = ", after approval in Review" if rule.review else ""
        lines.append(f"A record deleted on one side gets the tag “{rule.tag}” on the other{waits}.")
    conflict = {"newest": "the newest change wins", "left": "the left side wins", "right": "the right side wins"}
    lines.append(f"When a field changed on both sides, {conflict[connection.conflict]}.")
    return lines


def _action_words(action: Action) -> str:
    if action.add_tag is not None:
        return f"add the tag “{action.add_tag}”"
    if action.remove_tag is not None:
        return f"remove the tag “{action.remove_tag}”"
    return f"set {action.set_field} to {action.value!r}"


# the dry run ---------------------------------------------------------------------------


@dataclass
class PlanLine:
    action: str
    side: str
    record: str
    detail: str
    changes: list[tuple[str, Any, Any]]


def plan_lines(plan: Plan, limit: int = 500) -> list[PlanLine]:
    """The operations of a plan that a person cares about (links without writes are counted, not listed)."""
    lines = []
    for op in plan.operations:
        line = _plan_line(op)
        if line is not None:
            lines.append(line)
        if len(lines) >= limit:
            break
    return lines


def _plan_line(op: Any) -> PlanLine | None:
    if isinstance(op, Create):
        return PlanLine("create", op.side, f"from {op.source_id}", "", [(k, None, v) for k, v in op.fields.items()])
    if isinstance(op, Update):
        return PlanLine("update", op.side, op.record_id, "", [(k, op.old.get(k), v) for k, v in op.fields.items()])
    if isinstance(op, Tag):
        return PlanLine("tag" if op.add else "untag", op.side, op.record_id, f"“{op.tag}”: {op.reason}", [])
    if isinstance(op, Skip):
        return PlanLine("skip", op.side, op.record_id, op.reason, [])
    if isinstance(op, Conflict):
        detail = f"{field_words(op.field)}: keeps {op.value!r}, loses {op.losing_value!r} ({op.rule})"
        return PlanLine("conflict", op.winner, f"{op.left_id} ↔ {op.right_id}", detail, [])
    if isinstance(op, Review):
        return PlanLine("review", op.side, op.record_id, f"“{op.tag}” waits for approval: {op.reason}", [])
    return None


def field_words(key: str) -> str:
    """A mapping key (`first_name+last_name|name`) as words."""
    left, _, right = key.partition("|")
    left, right = left.replace("+", " + "), right.replace("+", " + ")
    return left if left == right else f"{left} ↔ {right}"


def display_name(fields: dict[str, Any]) -> str:
    """A record's name for lists: a field that names it, else its email, else nothing."""
    parts = [str(v) for k, v in fields.items() if "name" in k.lower() and isinstance(v, str) and v.strip()]
    if parts:
        return " ".join(parts[:2])
    return next((str(v) for k, v in fields.items() if "email" in k.lower() and v), "")


def email_of(fields: dict[str, Any]) -> str:
    return next((str(v) for k, v in fields.items() if "email" in k.lower() and isinstance(v, str) and v), "")
