"""The service's side of the queue (`pairsync serve --workers 0`): every run becomes a job, schedules tick here.

The service keeps its API, webhooks and dashboard; instead of running syncs it
records each wish and defers a job. Several such services may tick at once:
a due time is claimed by one of them only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from engine.config.models import Connection
from engine.planner.model import Side
from engine.queue.app import make_app
from engine.queue.jobs import Queue, QueuedJobs
from engine.queue.schema import apply_queue_schema
from engine.queue.settings import QueueSettings
from engine.state.store import StateStore
from engine.state.tables import utcnow

log = logging.getLogger("pairsync.queue")


class QueueMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.waiting = Gauge("pairsync_queue_waiting_jobs", "Jobs waiting for a worker.", registry=registry)
        self.running = Gauge("pairsync_queue_running_jobs", "Jobs being run by a worker.", registry=registry)
        self.lag = Gauge(
            "pairsync_queue_lag_seconds", "Age of the oldest run request no worker has taken yet.", registry=registry
        )
        self.per_worker = Gauge(
            "pairsync_queue_worker_runs", "Runs each worker finished in the last hour.", ["worker"], registry=registry
        )


class QueueFront:
    def __init__(self, store: StateStore, state_url: str, registry: CollectorRegistry) -> None:
        self.settings = QueueSettings.from_env()
        self.store = store
        self.app = make_app(state_url)
        self.queue = Queue(self.app, store, self.settings)
        self.metrics = QueueMetrics(registry)
        self.jobs: dict[str, QueuedJobs] = {}

    async def start(self) -> None:
        log.info(apply_queue_schema(self.store.engine))
        await self.app.open_async()

    async def stop(self) -> None:
        await self.app.close_async()

    async def ask(self, connection: str, trigger: str, named: dict[Side, list[str]] | None = None) -> None:
        await self.queue.ask(
            connection, trigger, named=None if named is None else {str(k): v for k, v in named.items()}
        )

    async def tick(self, active: list[Connection]) -> None:
        await self.queue.tick(active)
        self.jobs = await self.queue.overview()
        self._measure()

    def _measure(self) -> None:
        self.metrics.waiting.set(sum(j.waiting for j in self.jobs.values()))
        self.metrics.running.set(sum(j.running for j in self.jobs.values()))
        firsts = [w.first_at for w in self.store.waiting_requests().values() if w.first_at is not None]
        self.metrics.lag.set(max(((utcnow() - f).total_seconds() for f in firsts), default=0.0))
        for worker, count in self.store.runs_by_worker(utcnow() - timedelta(hours=1)).items():
            self.metrics.per_worker.labels(worker).set(count)


class QueueCoalescer:
    """The webhook side: named records join the connection's waiting wish; one job takes them all."""

    def __init__(self, front: QueueFront, spawn: Callable[[Any], None]) -> None:
        self.front = front
        self.spawn = spawn

    def add(self, connection: str, side: Side, ids: list[str]) -> None:
        self.spawn(self.front.ask(connection, "webhook", {side: ids}))

    async def aclose(self) -> None:
        return None
