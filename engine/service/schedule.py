"""Connection schedules on APScheduler 3: intervals (`15m`) and 5-field cron expressions.

Jobs coalesce (a backlog of missed fire times runs once), never overlap and
run however late they are. Runs missed while the service was down are
found from the run history at start and caught up with a single run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from engine.config.schedule import interval_of, trigger_for

__all__ = ["JOB_PREFIX", "Schedules", "interval_of", "missed", "trigger_for"]

JOB_PREFIX = "schedule:"


def missed(schedule: str, last_started: datetime | None, now: datetime) -> bool:
    """Whether a fire time passed since the last run began (never run: nothing was missed yet)."""
    if last_started is None:
        return False
    interval = interval_of(schedule)
    if interval is not None:
        return last_started + interval <= now
    after = last_started + timedelta(seconds=1)  # the fire time that started the last run is not a missed one
    due = CronTrigger.from_crontab(schedule).get_next_fire_time(None, after)
    return due is not None and due <= now


class Schedules:
    """Keeps the scheduler's jobs equal to the wanted schedules; an unchanged schedule keeps its timing."""

    def __init__(self, scheduler: AsyncIOScheduler, job: Callable[[str], Awaitable[Any]]) -> None:
        self.scheduler = scheduler
        self.job = job
        self.current: dict[str, str] = {}
        self.problems: dict[str, str] = {}  # connection -> why its new schedule was refused (the old one runs)

    def apply(self, wanted: dict[str, str]) -> None:
        """`wanted`: connection name -> schedule, for the connections that should run on one now.

        A schedule the scheduler refuses leaves the connection's current job in place and is kept in `problems`.
        """
        triggers: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for name, schedule in wanted.items():
            if self.current.get(name) == schedule:
                continue
            try:
                triggers[name] = trigger_for(schedule)
            except ValueError as error:
                problems[name] = str(error)
        for name in [n for n in self.current if n not in wanted or n in triggers]:
            self.scheduler.remove_job(JOB_PREFIX + name)
            del self.current[name]
        self.problems = problems
        for name, trigger in triggers.items():
            if name not in self.current:
                self.scheduler.add_job(
                    self.job,
                    trigger,
                    args=[name],
                    id=JOB_PREFIX + name,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=None,
                    replace_existing=True,
                )
                self.current[name] = wanted[name]

    def next_run(self, name: str) -> datetime | None:
        job = self.scheduler.get_job(JOB_PREFIX + name)
        when = getattr(job, "next_run_time", None) if job is not None else None
        return when.astimezone(UTC) if isinstance(when, datetime) else None
