"""The Procrastinate app over the state database, and the names of pairsync's two tasks."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from procrastinate import App, PsycopgConnector

from engine.queue.settings import QueueError

RUN_TASK = "pairsync.run"  # one run of one connection; lock and queueing lock are the connection's name
TICK_TASK = "pairsync.tick"  # periodic: start due schedules, hand back jobs of dead workers
QUEUE = "pairsync"


def conninfo(state_url: str) -> str:
    """The libpq URL of a PostgreSQL state URL; SQLite state has no queue."""
    parts = urlsplit(state_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in {"postgresql", "postgres"}:
        raise QueueError(
            f"the queue needs PostgreSQL state, and this config's state is {scheme or 'unknown'}: set "
            "`state: postgresql://user@host/db` in the config, or use `pairsync serve` without --workers 0, "
            "which runs every sync in one process"
        )
    return urlunsplit(("postgresql", *parts[1:]))


def make_app(state_url: str, pool_size: int = 4) -> App:
    connector = PsycopgConnector(conninfo=conninfo(state_url), min_size=1, max_size=pool_size)
    return App(connector=connector)
