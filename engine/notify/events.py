"""Which events a finished run raises: a pure function of its report and what came before."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.notify.models import EventKind

PROBLEMS = frozenset({"error", "blocked"})


@dataclass(frozen=True)
class Event:
    kind: EventKind
    connection: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind.value, "connection": self.connection, "text": self.text, **self.detail}


@dataclass(frozen=True)
class RunFacts:
    """What the notifier needs to know about one run."""

    connection: str
    status: str
    run_id: int | None
    error: str | None
    previous_status: str | None
    reconnect: str | None  # the account this run found refused
    failing: dict[str, int] = field(default_factory=dict)  # "side record_id" -> failed runs so far


def run_events(facts: RunFacts, failing_runs: int) -> list[Event]:
    name, detail = facts.connection, {"run_id": facts.run_id, "status": facts.status}
    found: list[Event] = []
    if facts.reconnect is not None:
        found.append(Event(EventKind.NEEDS_RECONNECT, name,
                           f"{name}: account {facts.reconnect} needs reconnect; its connections are paused",
                           {**detail, "account": facts.reconnect, "error": facts.error}))
    elif facts.status == "error":
        found.append(Event(EventKind.RUN_FAILED, name, f"{name}: run failed: {facts.error}",
                           {**detail, "error": facts.error}))
    if facts.status == "blocked":
        found.append(Event(EventKind.BREAKER_TRIPPED, name,
                           f"{name}: the mass-change breaker stopped the run; nothing was written", detail))
    stuck = sorted(record for record, runs in facts.failing.items() if runs > failing_runs)
    if stuck:
        found.append(Event(EventKind.RECORDS_FAILING, name,
                           f"{name}: {len(stuck)} records still failing after more than {failing_runs} runs",
                           {**detail, "records": stuck[:50]}))
    if facts.status == "ok" and facts.previous_status in PROBLEMS:
        found.append(Event(EventKind.RECOVERED, name, f"{name}: runs succeed again", detail))
    return found


def reconnected(account: str, connections: list[str]) -> list[Event]:
    """`pairsync connect` cleared a needs-reconnect mark."""
    return [Event(EventKind.RECOVERED, name, f"{name}: account {account} is connected again; runs resume",
                  {"account": account}) for name in connections]
