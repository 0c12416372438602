"""`pairsync worker`: a Procrastinate worker that runs queued syncs; start any number, on any machine.

A job takes every wish waiting for its connection and runs it through the
ordinary runner (the same plan, journal, executor and history as `pairsync
run`). A worker killed mid-run stops sending heartbeats; the next tick hands
its job to another worker, whose run resumes from the write journal. SIGTERM
lets jobs in flight finish within the grace period; a job cut short gives its
wish back to the queue.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta

from engine.config.loaded import LoadedConfig
from engine.config.models import Connection
from engine.planner.model import SIDES, Side
from engine.queue.app import QUEUE, RUN_TASK, TICK_TASK, make_app
from engine.queue.jobs import Queue
from engine.queue.schema import apply_queue_schema
from engine.queue.settings import QueueSettings
from engine.runner import Report, run_connection
from engine.service.history import held, mark_interrupted
from engine.service.targeted import targeted_reader
from engine.state.store import StateStore
from engine.state.tables import utcnow

log = logging.getLogger("pairsync.worker")


def identity() -> str:
    """host:pid, as the run history shows which worker ran a run."""
    return f"{socket.gethostname()}:{os.getpid()}"


class QueueWorker:
    def __init__(self, loaded: LoadedConfig, settings: QueueSettings, concurrency: int = 4) -> None:
        self.loaded = loaded
        self.settings = settings
        self.concurrency = concurrency
        self.store = StateStore(loaded.state_url)
        self.app = make_app(loaded.state_url, pool_size=concurrency + 2)
        self.queue = Queue(self.app, self.store, settings)
        self.name = identity()
        self.app.task(name=RUN_TASK, queue=QUEUE)(self.run_job)
        tick = self.app.task(name=TICK_TASK, queue=QUEUE)(self.tick)
        self.app.periodic(cron=f"*/{settings.tick} * * * * *")(tick)

    async def tick(self, timestamp: int) -> None:
        """Deferred once per period by whichever worker gets there first."""
        await self.queue.tick(self.active())

    def active(self) -> list[Connection]:
        paused = held(self.store)
        return [c for c in self.loaded.config.connections if c.enabled and c.name not in paused]

    async def run_job(self, connection: str) -> None:
        if connection not in {c.name for c in self.active()}:
            log.info("job for %s dropped: the connection is disabled or gone from the config", connection)
            self.store.take_requests(connection)
            self.store.finish_requests(connection)
            return
        wish = self.store.take_requests(connection)
        if wish is None or wish.empty:
            self.store.finish_requests(connection)
            return  # an earlier job took the wishes this job was deferred for
        if mark_interrupted(self.store, connection):  # a run of a dead worker (or process) left its row open
            log.warning("closed a run of %s left unfinished by a stopped process", connection)
        started, began = time.monotonic(), utcnow()
        try:
            report = await run_connection(
                self.loaded,
                self.loaded.config.connection(connection),
                self.store,
                full=wish.full,
                trigger=wish.trigger,
                reader=None if wish.feed else targeted_reader(_by_side(wish.named)),
            )
        except asyncio.CancelledError:
            self.store.return_requests(connection)
            mark_interrupted(self.store, connection)
            self._note(connection, began, wish.first_at)
            log.warning("run of %s cut short by shutdown; its wish waits for the next job", connection)
            raise
        self._settle(connection, report, wish.first_at, time.monotonic() - started)

    def _settle(self, connection: str, report: Report, first_at: datetime | None, seconds: float) -> None:
        if report.status == "busy":  # `pairsync run` or a service holds the connection: try again shortly
            self.store.return_requests(connection)
            asyncio.get_running_loop().create_task(self.queue.ensure_job(connection, self.settings.busy_retry))
            return
        self.store.finish_requests(connection)
        self._note(connection, utcnow() - timedelta(seconds=seconds), first_at)
        log.info("run %s of %s (%s): %s in %.1fs", report.run_id, connection, report.status, self.name, seconds)

    def _note(self, connection: str, began: datetime, first_at: datetime | None) -> None:
        """Say in the history which worker ran the runs this job started, and how long the request waited
        (also for a run cut short after its row was closed: cancellation can land in its last steps)."""
        for run in self.store.runs(connection, limit=5):
            started = run["started_at"] if run["started_at"].tzinfo else run["started_at"].replace(tzinfo=UTC)
            if started >= began - timedelta(seconds=1) and run.get("worker") is None:
                waited = None if first_at is None else max((started - first_at).total_seconds(), 0.0)
                self.store.note_worker(run["id"], self.name, waited)

    async def work(self) -> None:
        log.info(apply_queue_schema(self.store.engine))
        async with self.app.open_async():
            await self.app.run_worker_async(
                queues=[QUEUE],
                concurrency=self.concurrency,
                name=self.name,
                update_heartbeat_interval=self.settings.heartbeat,
                stalled_worker_timeout=self.settings.stalled_after,
                shutdown_graceful_timeout=self.settings.grace,
                delete_jobs="successful",
                install_signal_handlers=True,
            )
        self.store.close()


def _by_side(named: dict[str, list[str]]) -> dict[Side, list[str]]:
    return {side: named.get(side, []) for side in SIDES}


def work(loaded: LoadedConfig, concurrency: int) -> None:
    """Run a worker until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("procrastinate", "httpx", "stripe"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    worker = QueueWorker(loaded, QueueSettings.from_env(), concurrency)
    asyncio.run(worker.work())
