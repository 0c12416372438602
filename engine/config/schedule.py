"""A connection's `schedule`, parsed by the scheduler's own parser (APScheduler 3), so that `validate` refuses
exactly what `serve` would fail on: an interval (`15m`, `1h`, `30s`, `1d`) or a 5-field cron expression."""

from __future__ import annotations

import re
from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_INTERVAL = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_CRON_FIELDS = "minute hour day-of-month month day-of-week"


def interval_of(schedule: str) -> timedelta | None:
    """The interval of `15m`-style schedules; None for cron expressions."""
    found = _INTERVAL.match(schedule.strip())
    if not found:
        return None
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def trigger_for(schedule: str) -> IntervalTrigger | CronTrigger:
    """The trigger the service schedules; ValueError (with a sentence a user can act on) for a bad schedule."""
    interval = interval_of(schedule)
    if interval is not None:
        if interval.total_seconds() < 1:
            raise ValueError(f"schedule {schedule!r} is shorter than a second; use 30s, 15m, 1h or 1d")
        return IntervalTrigger(seconds=interval.total_seconds())
    if len(schedule.split()) != 5:
        raise ValueError(
            f"schedule {schedule!r} is neither an interval (30s, 15m, 1h, 1d) nor a 5-field cron expression "
            f"({_CRON_FIELDS}, e.g. '0 3 * * *')"
        )
    try:
        return CronTrigger.from_crontab(schedule)
    except ValueError as error:
        raise ValueError(
            f"schedule {schedule!r} is not a valid cron expression: {_which_field(schedule, error)}; "
            f"the 5 fields are {_CRON_FIELDS} (minute 0-59, hour 0-23, day 1-31, month 1-12, day-of-week 0-6)"
        ) from None


_TRIGGER_FIELDS = (("minute", "minute"), ("hour", "hour"), ("day", "day-of-month"), ("month", "month"),
                   ("day_of_week", "day-of-week"))


def _which_field(schedule: str, error: ValueError) -> str:
    """The first field APScheduler refuses, by its name, with APScheduler's reason."""
    for (keyword, label), part in zip(_TRIGGER_FIELDS, schedule.split(), strict=True):
        try:
            CronTrigger(**{keyword: part})
        except ValueError as refused:
            return f"{label} {part!r}: {_plain(str(refused))}"
    return _plain(str(error))


def _plain(message: str) -> str:
    """APScheduler's reason without its `Error validating expression '25': ` prefix and trailing period."""
    return message.split("': ", 1)[-1].rstrip(".")
