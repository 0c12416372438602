"""Where notifications start: after every run (runner) and after `pairsync connect` clears a mark."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.notify.dispatch import deliver
from engine.notify.events import RunFacts, reconnected, run_events

if TYPE_CHECKING:
    from engine.config.loaded import LoadedConfig
    from engine.runner import Report
    from engine.state.store import StateStore


async def after_run(loaded: LoadedConfig, store: StateStore, report: Report) -> list[str]:
    """Deliver what this run raised; notes for deliveries that failed."""
    targets = loaded.config.notify
    if not targets or report.run_id is None:
        return []
    runs = store.runs(report.connection, limit=2)
    previous = runs[1]["status"] if len(runs) > 1 else None
    failing = {f"{f['side']} {f['record_id']}": int(f["attempts"]) for f in store.failures(report.connection)}
    facts = RunFacts(report.connection, report.status, report.run_id, report.error, previous, report.reconnect,
                     failing)
    notes: list[str] = []
    for target in targets:
        notes += await deliver([target], store, run_events(facts, target.failing_runs))
    return notes


async def after_connect(loaded: LoadedConfig, store: StateStore, account: str) -> list[str]:
    names = [c.name for c in loaded.config.connections if account in (c.left, c.right)]
    return await deliver(loaded.config.notify, store, reconnected(account, names))
