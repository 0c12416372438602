"""Asking for runs and ticking schedules: what every process does, whether or not it runs jobs itself.

A trigger first records its wish in the state (`request_run`), then defers a
job with the connection as `queueing_lock` (at most one waiting job) and as
`lock` (at most one running). A second trigger while a job waits only adds to
the wish: that is how bursts of webhooks coalesce into the waiting job.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued

from engine.config.models import Connection
from engine.queue.app import QUEUE, RUN_TASK
from engine.queue.settings import QueueSettings
from engine.service.schedule import interval_of, trigger_for
from engine.state.store import StateStore
from engine.state.tables import utcnow

log = logging.getLogger("pairsync.queue")


@dataclass(frozen=True)
class QueuedJobs:
    """Jobs of one connection in the queue now."""

    waiting: int = 0
    running: int = 0


class Queue:
    def __init__(self, app: App, store: StateStore, settings: QueueSettings) -> None:
        self.app = app
        self.store = store
        self.settings = settings

    async def ask(
        self,
        connection: str,
        trigger: str,
        *,
        full: bool = False,
        named: Mapping[str, Iterable[str]] | None = None,
        delay: float | None = None,
    ) -> None:
        """Record the wish, then make sure a job will take it."""
        self.store.request_run(connection, trigger, full=full, named=named)
        await self.ensure_job(connection, delay)

    async def ensure_job(self, connection: str, delay: float | None = None) -> None:
        deferrer = self.app.configure_task(
            RUN_TASK,
            queue=QUEUE,
            lock=connection,
            queueing_lock=connection,
            schedule_in={"seconds": delay} if delay else None,
        )
        with contextlib.suppress(AlreadyEnqueued):  # a job is waiting already: it takes this wish too
            await deferrer.defer_async(connection=connection)

    async def tick(self, connections: Iterable[Connection], now: datetime | None = None) -> list[str]:
        """Start due schedules (each due time once, whoever ticks), re-offer lost wishes, revive dead jobs."""
        now = now or utcnow()
        self.store.sync_schedules({c.name: c.schedule for c in connections if c.schedule}, next_fire)
        started = []
        for name, due in self.store.claim_due(now, next_fire):
            log.info(
                "schedule of %s due at %s: queued (%.1fs late)", name, due.isoformat(), (now - due).total_seconds()
            )
            await self.ask(name, "schedule")
            started.append(name)
        await self.revive_stalled()
        queued = await self.overview()
        for name in self.store.waiting_requests():
            if name not in queued or not queued[name].waiting:
                await self.ensure_job(name)  # a wish whose job was lost (a defer that failed, a cancelled job)
        return started

    async def revive_stalled(self) -> int:
        """Jobs of workers that stopped sending heartbeats go back to the queue; the journal makes that safe."""
        stalled = list(
            await self.app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=self.settings.stalled_after
            )
        )
        for job in stalled:
            log.warning("job %s (%s) lost its worker: queued again", job.id, job.lock)
            await self.app.job_manager.retry_job(job)
        if stalled:
            await self.app.job_manager.prune_stalled_workers(self.settings.stalled_after)
        return len(stalled)

    async def overview(self) -> dict[str, QueuedJobs]:
        """Waiting and running jobs per connection."""
        counts: dict[str, dict[str, int]] = {}
        for status in ("todo", "doing"):
            for job in await self.app.job_manager.list_jobs_async(queue=QUEUE, task=RUN_TASK, status=status):
                if job.lock:
                    counts.setdefault(job.lock, {}).setdefault(status, 0)
                    counts[job.lock][status] += 1
        return {name: QueuedJobs(c.get("todo", 0), c.get("doing", 0)) for name, c in counts.items()}


def next_fire(schedule: str, after: datetime) -> datetime:
    """The first fire time of a schedule strictly after `after` (UTC)."""
    interval = interval_of(schedule)
    if interval is not None:
        return after + max(interval, timedelta(seconds=1))
    fire: datetime | None = trigger_for(schedule).get_next_fire_time(None, after + timedelta(seconds=1))
    assert fire is not None, f"schedule {schedule!r} never fires"
    return fire.astimezone(after.tzinfo)
