"""How plans, runs and status look in a terminal (rich tables) and as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.planner.model import Conflict, Create, LinkOnly, Plan, Skip, Tag, Update
from engine.runner import Report
from engine.secrets import REDACTOR

_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, width=_WIDTH)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def say(text: str, style: str | None = None) -> None:
    console.print(REDACTOR.redact(text), style=style, markup=False, soft_wrap=True)


def warn(text: str) -> None:
    errors.print(REDACTOR.redact(f"warning: {text}"), style="yellow", markup=False)


def fail(text: str) -> None:
    errors.print(REDACTOR.redact(text), style="red", markup=False)


def print_json(data: Any) -> None:
    print(REDACTOR.redact(json.dumps(data, indent=2, default=str, sort_keys=False)))


def _short(value: Any, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def plan_table(plan: Plan, limit: int = 200) -> Table:
    """One row per operation: what, where, which record, and the detail or reason."""
    table = Table(title=f"plan for {plan.connection}", show_lines=False)
    for column in ("action", "side", "record", "detail"):
        table.add_column(column)
    rows = 0
    for op in plan.operations:
        row = _row(op)
        if row is None:
            continue
        rows += 1
        if rows > limit:
            table.add_row("…", "", "", f"{len(plan.operations) - limit} more operations (use --json for all)")
            break
        table.add_row(*(REDACTOR.redact(cell) for cell in row))
    return table


def _row(op: Any) -> tuple[str, str, str, str] | None:
    if isinstance(op, Create):
        return ("create", op.side, f"from {op.source_id}", _short(dict(op.fields), 70))
    if isinstance(op, Update):
        changes = ", ".join(f"{k}: {_short(op.old.get(k), 20)!s} → {_short(v, 20)!s}" for k, v in op.fields.items())
        return ("update", op.side, op.record_id, changes)
    if isinstance(op, Tag):
        return ("tag" if op.add else "untag", op.side, op.record_id, f"{op.tag!r}: {op.reason}")
    if isinstance(op, Skip):
        return ("skip", op.side, op.record_id, op.reason)
    if isinstance(op, Conflict):
        return (
            "conflict",
            op.winner,
            f"{op.left_id} ↔ {op.right_id}",
            f"{op.field.replace('|', ' ↔ ')}: kept {_short(op.value, 20)}, "
            f"lost {_short(op.losing_value, 20)} ({op.rule})",
        )
    if isinstance(op, LinkOnly) and op.new:
        return ("link", "both", f"{op.link.left_id} ↔ {op.link.right_id}", "matched")
    return None


def summary_table(reports: list[Report]) -> Table:
    table = Table(title="summary")
    for column in (
        "connection",
        "status",
        "created",
        "updated",
        "tagged",
        "skipped",
        "conflicts",
        "failed",
        "requests",
    ):
        table.add_column(column)
    for report in reports:
        s = report.summary()
        table.add_row(
            s["connection"],
            s["status"],
            _pair(s["created"]),
            _pair(s["updated"]),
            _pair(s["tagged"]),
            str(s["skipped"]),
            str(s["conflicts"]),
            str(s["failed"]),
            _pair(s["requests"]),
        )
    return table


def _pair(value: dict[str, int]) -> str:
    return f"L {value['left']} · R {value['right']}"


def print_messages(report: Report) -> None:
    for warning in report.warnings:
        warn(warning)
    for note in report.notes:
        say(f"note: {note}", style="cyan")
    if report.plan.blocked:
        fail(f"{report.connection}: stopped: {report.plan.blocked}")
    if report.error:
        fail(f"{report.connection}: {report.error}")
    if report.outcome is not None:
        for event in report.outcome.events:
            if event["kind"] == "failed":
                fail(f"{report.connection}: {event['side']} {event['record_id']}: {event['detail'].get('error')}")
