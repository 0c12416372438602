"""The service: scheduler, webhooks, run manager and config reloads around one state store."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from engine.config import ConfigError, LoadedConfig, load_config
from engine.config.models import Connection
from engine.planner.model import Side
from engine.secrets import REDACTOR
from engine.service import history
from engine.service.metrics import Metrics
from engine.service.runs import Runs
from engine.service.schedule import Schedules, missed
from engine.service.settings import ServiceSettings
from engine.service.targeted import targeted_reader
from engine.service.webhooks import Coalescer, Gatherer, Webhooks
from engine.state.store import StateStore
from engine.state.tables import utcnow

if TYPE_CHECKING:
    from engine.queue.front import QueueFront

log = logging.getLogger("pairsync.service")


class Refused(Exception):
    """A request the service cannot honour as asked (enable a connection the config disables)."""


class Service:
    """`queued`: every run becomes a job for `pairsync worker` processes (`serve --workers 0`)."""

    def __init__(self, loaded: LoadedConfig, settings: ServiceSettings, queued: bool = False) -> None:
        self.loaded = loaded
        self.settings = settings
        self.store = StateStore(loaded.state_url)
        self.metrics = Metrics()
        self.runs = Runs(lambda: self.loaded, self.store, self.metrics)
        self.scheduler = AsyncIOScheduler()
        self.schedules = Schedules(self.scheduler, self._scheduled)
        self.queue = _queue_front(self.store, loaded.state_url, self.metrics) if queued else None
        self.webhooks = Webhooks(
            self.store,
            self.metrics,
            self._gatherer(),
            self.active,
            timedelta(hours=settings.delivery_memory_hours),
        )
        self._config_digest = _digest(loaded)
        self.config_problems: list[str] = []
        self._background: set[asyncio.Task[Any]] = set()

    def _gatherer(self) -> Gatherer:
        """Where webhook-named records go: one coalesced run here, or the waiting job of the queue."""
        if self.queue is not None:
            from engine.queue.front import QueueCoalescer

            return QueueCoalescer(self.queue, self._spawn)
        return Coalescer(self.runs, self.settings.webhook_debounce)

    # which connections run ---------------------------------------------------------

    def active(self) -> list[Connection]:
        """Connections enabled in the config and not disabled through the API."""
        held = history.held(self.store)
        return [c for c in self.loaded.config.connections if c.enabled and c.name not in held]

    def set_enabled(self, name: str, enabled: bool) -> None:
        connection = self.loaded.config.connection(name)
        if enabled and not connection.enabled:
            raise Refused(f"{name} has `enabled: false` in {self.loaded.path}; change it there")
        (history.unhold if enabled else history.hold)(self.store, name)
        self._apply_schedules()

    def _apply_schedules(self) -> None:
        if self.queue is not None:
            return  # schedules live in the state store and are ticked (`_tick`)
        before = dict(self.schedules.problems)
        self.schedules.apply({c.name: c.schedule for c in self.active() if c.schedule})
        for name, problem in self.schedules.problems.items():
            if before.get(name) != problem:
                log.error("schedule of %s not changed, the previous one still runs: %s", name, problem)

    def problems(self) -> list[str]:
        """What keeps the service from doing what its config file says (shown by /healthz and the API)."""
        found = [f"config not reloaded: {problem}" for problem in self.config_problems]
        found += [f"schedule of {name} not changed: {problem}" for name, problem in self.schedules.problems.items()]
        return found

    # lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        for connection in self.loaded.config.connections:
            if history.mark_interrupted(self.store, connection.name):
                log.warning("closed runs of %s left unfinished by a stopped process", connection.name)
        history.forget_old_deliveries(self.store)
        if self.queue is not None:
            await self.queue.start()
        self.scheduler.start()
        self._apply_schedules()
        if self.queue is not None:
            self.scheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=self.queue.settings.tick),
                id="queue-tick",
                coalesce=True,
                max_instances=1,
                next_run_time=utcnow(),
            )
        else:
            self._catch_up()
        self.scheduler.add_job(
            self._watch,
            IntervalTrigger(seconds=max(self.settings.config_watch, 0.1)),
            id="config-watch",
            coalesce=True,
            max_instances=1,
        )
        self._on_sighup()

    async def stop(self) -> None:
        """Stop scheduling, let runs in flight finish within the grace period, then close everything."""
        self.scheduler.shutdown(wait=False)
        self.runs.stopping = True
        await self.webhooks.coalescer.aclose()
        await self.runs.drain(self.settings.shutdown_grace)
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.webhooks.aclose()
        if self.queue is not None:
            await self.queue.stop()
        self.store.close()

    def _on_sighup(self) -> None:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)
        except (ValueError, RuntimeError, NotImplementedError):
            log.info("not in the main thread: SIGHUP does not reload here (config changes still do)")

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # runs ------------------------------------------------------------------------

    def spawn_run(self, name: str, trigger: str, named: dict[Side, list[str]] | None = None) -> None:
        """Start a run without waiting for it (run-now through the API, a resync from the dashboard: `named`
        records only); queued, the request becomes a job."""
        if self.queue is not None:
            self._spawn(self.queue.ask(name, trigger, named))
            return
        reader = targeted_reader(named) if named else None
        self._spawn(self.runs.run(name, trigger, reader=reader, wait=False))

    async def _tick(self) -> None:
        if self.queue is not None:
            try:
                await self.queue.tick(self.active())
            except Exception:
                log.exception("queue tick failed")

    async def _scheduled(self, name: str) -> None:
        await self.runs.run(name, "schedule", wait=False)

    def _catch_up(self) -> None:
        """Runs missed while the service was down: one run per connection, however many were missed."""
        now = utcnow()
        for connection in self.active():
            last = history.last_started(self.store, connection.name)
            if connection.schedule and missed(connection.schedule, last, now):
                log.info("catching up the missed schedule of %s", connection.name)
                self._spawn(self.runs.run(connection.name, "schedule", wait=False))

    # config reloads -------------------------------------------------------------

    async def _watch(self) -> None:
        """Reload when the config file changed; also picks up enable/disable done by another process."""
        if _digest(self.loaded) != self._config_digest:
            self.reload()
        else:
            self._apply_schedules()

    def reload(self) -> bool:
        """Read the config again; a broken file is reported and the running config kept."""
        path = self.loaded.path
        self._config_digest = _digest(self.loaded)
        try:
            fresh = load_config(path)
        except ConfigError as error:
            self.config_problems = [REDACTOR.redact(str(problem)) for problem in error.problems]
            for problem in self.config_problems:
                log.error("config not reloaded, the previous one stays in use: %s", problem)
            return False
        self.config_problems = []
        if fresh.state_url != self.loaded.state_url:
            log.warning("the state store changed in %s; restart the service to use it", path)
        self.loaded = fresh
        self._spawn(self.webhooks.verifiers.aclose())
        self._apply_schedules()
        log.info("config reloaded from %s", path)
        return True


def _queue_front(store: StateStore, state_url: str, metrics: Metrics) -> QueueFront:
    from engine.queue.front import QueueFront  # imported here: the queue builds on this package

    return QueueFront(store, state_url, metrics.registry)


def _digest(loaded: LoadedConfig) -> str:
    try:
        return hashlib.sha256(loaded.path.read_bytes()).hexdigest()
    except OSError:
        return ""
