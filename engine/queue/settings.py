"""How the queue is tuned: seconds, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import UserError


class QueueError(UserError):
    """The queue cannot be used as asked (SQLite state, an unknown setting)."""


@dataclass(frozen=True)
class QueueSettings:
    tick: int = 5  # how often due schedules are looked for (whole seconds: a cron seconds field)
    heartbeat: float = 10.0  # how often a worker says it is alive
    stalled_after: float = 30.0  # a worker silent this long is dead: its job is retried elsewhere
    busy_retry: float = 5.0  # a job finding its connection run by another process tries again after this
    grace: float = 20.0  # SIGTERM: jobs in flight get this long to finish before they are handed back

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> QueueSettings:
        env = os.environ if environ is None else environ
        values: dict[str, float] = {}
        for name in ("tick", "heartbeat", "stalled_after", "busy_retry", "grace"):
            raw = env.get(f"PAIRSYNC_QUEUE_{name.upper()}")
            if raw is None:
                continue
            try:
                values[name] = float(raw)
            except ValueError:
                raise QueueError(f"PAIRSYNC_QUEUE_{name.upper()} must be a number of seconds, not {raw!r}") from None
        tick = int(values.pop("tick", cls.tick))
        if not 1 <= tick <= 59:
            raise QueueError("PAIRSYNC_QUEUE_TICK must be a whole number of seconds from 1 to 59")
        return cls(tick=tick, **values)
