"""How plans, runs and status look in a terminal (rich tables) and as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from engine.runner import Report
from engine.secrets import REDACTOR

console = Console(highlight=False)  # the terminal's width, or COLUMNS, or 80 when printing to a file
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def say(text: str, style: str | None = None) -> None:
    console.print(REDACTOR.redact(text), style=style, markup=False, soft_wrap=True)


def warn(text: str) -> None:
    errors.print(REDACTOR.redact(f"warning: {text}"), style="yellow", markup=False)


def fail(text: str) -> None:
    errors.print(REDACTOR.redact(text), style="red", markup=False)


def print_json(data: Any) -> None:
    print(REDACTOR.redact(json.dumps(data, indent=2, default=plain_json, sort_keys=False)))


def plain_json(value: Any) -> Any:
    """Times as ISO 8601 in UTC (`2026-12-01T14:11:21.056066+00:00`), the same as the service's API."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value)


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
