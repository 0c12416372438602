"""Starting runs inside the service: one at a time per connection here, one across processes by the store lock.

Every run is its own task, shielded from whoever asked for it (an HTTP
client that hangs up does not cut a run short). On shutdown the service
waits for runs in flight up to a grace period; the journal makes a run
cancelled after that safe to start again, and its history row is closed
as `interrupted`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.config.loaded import LoadedConfig
from engine.planner.model import Plan, Side
from engine.runner import Reader, Report, Session, SideRead, run_connection
from engine.service.history import mark_interrupted
from engine.service.metrics import Metrics
from engine.state.store import StateStore

log = logging.getLogger("pairsync.service")


@dataclass
class Live:
    """How far a run in progress is: reading both sides, then `done` of `total` planned writes."""

    trigger: str
    phase: str = "reading"
    done: int = 0
    total: int = 0

    def planned(self, plan: Plan) -> None:
        self.phase, self.total = "writing", plan.writes()

    def advance(self, count: int) -> None:
        self.done = min(self.total, self.done + count) if self.total else self.done + count


class Runs:
    def __init__(self, loaded: Callable[[], LoadedConfig], store: StateStore, metrics: Metrics) -> None:
        self.loaded = loaded
        self.store = store
        self.metrics = metrics
        self.stopping = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._active: dict[asyncio.Task[Report], str] = {}
        self.live: dict[str, Live] = {}

    def running(self, name: str) -> bool:
        return name in self._active.values()

    async def run(
        self, name: str, trigger: str, reader: Reader | None = None, full: bool = False, wait: bool = True
    ) -> Report | None:
        """Run one connection; None when refused (stopping, or already running here and `wait` is False)."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        if self.stopping or (lock.locked() and not wait):
            return None
        async with lock:
            if self._refusing():
                return None
            task = asyncio.create_task(self._run(name, trigger, reader, full), name=f"run:{name}")
            self._active[task] = name
            task.add_done_callback(self._active.pop)
            return await asyncio.shield(task)

    def _refusing(self) -> bool:
        """Checked again after waiting for the lock: shutdown may have begun meanwhile."""
        return self.stopping

    async def _run(self, name: str, trigger: str, reader: Reader | None, full: bool) -> Report:
        loaded = self.loaded()
        sessions: list[Session] = []
        started = time.monotonic()
        live = self.live[name] = Live(trigger)
        try:
            report = await run_connection(
                loaded,
                loaded.config.connection(name),
                self.store,
                full=full,
                trigger=trigger,
                reader=_watching(reader, full, sessions),
                progress=live.advance,
                on_plan=live.planned,
            )
        finally:
            self.live.pop(name, None)
        self.metrics.record_run(trigger, report, time.monotonic() - started, sessions[0] if sessions else None)
        summary = report.summary()
        done = {k: summary[k] for k in ("created", "updated", "tagged", "untagged")}
        log.info(
            "run #%s of %s (%s): %s; %s; failed %d; %.1fs",
            report.run_id or "-", name, trigger, report.status,
            ", ".join(f"{k} L{v['left']} R{v['right']}" for k, v in done.items()),
            summary["failed"], time.monotonic() - started,
            extra={
                "run_id": report.run_id, "connection": name, "trigger": trigger, "status": report.status, "counts": done
            },
        )
        return report

    async def drain(self, grace: float) -> list[str]:
        """Stop starting runs, let those in flight finish within `grace` seconds, cancel the rest.

        Returns the connections whose run was cut short (their history rows are closed as interrupted).
        """
        self.stopping = True
        tasks = dict(self._active)
        if not tasks:
            return []
        _done, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        cut = sorted({tasks[task] for task in late})
        for name in cut:
            mark_interrupted(self.store, name)
            log.warning("run of %s interrupted by shutdown; the next run resumes it from the journal", name)
        return cut


def _watching(reader: Reader | None, full: bool, sessions: list[Session]) -> Reader:
    """The reader to use, noting the session so that its counters reach the metrics."""

    async def read(session: Session, side: Side) -> SideRead:
        if not sessions:
            sessions.append(session)
        if reader is not None:
            return await reader(session, side)
        return await session.read(side, full)

    return read
