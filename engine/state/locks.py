"""Named locks with a holder and a heartbeat: one run of a connection at a time, across processes and hosts.

A lock row names its holder and when it expires. The holder renews it while it
works (`HeldLock`, a heartbeat from a background thread, and a check before
every write batch), so a long run keeps it however long it takes. Another
process takes a lock over only from a holder that is dead: on this host, when
the holder's process is gone (however fresh its heartbeat); on another host,
or for holders that name no process, when its heartbeat is older than its
lifetime. A live holder on this host is never overtaken.

The API, for anyone building on it (the service, scale-out workers):

- `store.acquire(name, holder, ttl)` / `store.release(name, holder)`: take or free a lock once;
- `store.renew(name, holder, ttl)`: push the expiry on; False when the lock is no longer ours;
- `store.hold(name)`: a `HeldLock` (or None when a live holder has it); use it as a context manager,
  call `check()` before each write, which raises `LockLost` once another holder has it;
- `async with store.exclusive(name)`: a short critical section across processes (a token refresh),
  waiting while a live holder has it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from engine.state import tables as t
from engine.state.database import Database, aware
from engine.state.tables import utcnow

_LOCKS = t.Lock.__table__  # type: ignore[attr-defined]
LOCK_TTL = timedelta(minutes=2)
"""How long a lock lives without a heartbeat: a holder on another host that stopped renewing is dead after this."""

log = logging.getLogger(__name__)


class LockLost(RuntimeError):
    """This process's lock was taken over (its heartbeat went stale); it must not write any more."""


class LockStore(Database):
    """Locks kept in the state database, so every process sharing it sees them."""

    def acquire(self, name: str, holder: str, ttl: timedelta = LOCK_TTL) -> bool:
        """Take a named lock unless a live holder has it; the holder itself may take it again (a renewal)."""
        now = utcnow()
        with self._tx() as tx:
            try:
                with tx.begin_nested():
                    tx.execute(_LOCKS.insert().values(name=name, holder=holder, expires_at=now + ttl))
                return True
            except IntegrityError:
                pass
            row = tx.execute(select(_LOCKS.c.holder, _LOCKS.c.expires_at).where(_LOCKS.c.name == name)).first()
            if row is None:
                return False  # released between the insert and the read: the caller tries again later
            current, expires = row
            if current != holder and not holder_dead(current, aware(expires) or now, now):
                return False
            taken = tx.execute(
                update(_LOCKS)
                .where(_LOCKS.c.name == name, _LOCKS.c.holder == current)
                .values(holder=holder, expires_at=now + ttl)
            )
            return bool(taken.rowcount)

    def renew(self, name: str, holder: str, ttl: timedelta = LOCK_TTL) -> bool:
        """Push the lock's expiry on (the heartbeat); False when `holder` no longer has it."""
        with self._tx() as tx:
            renewed = tx.execute(
                update(_LOCKS)
                .where(_LOCKS.c.name == name, _LOCKS.c.holder == holder)
                .values(expires_at=utcnow() + ttl)
            )
            return bool(renewed.rowcount)

    def release(self, name: str, holder: str) -> None:
        with self._tx() as tx:
            tx.execute(delete(_LOCKS).where(_LOCKS.c.name == name, _LOCKS.c.holder == holder))

    def hold(self, name: str, ttl: timedelta = LOCK_TTL) -> HeldLock | None:
        """The lock, held by this process and renewed until released; None when a live holder has it."""
        holder = process_holder()
        if not self.acquire(name, holder, ttl):
            return None
        return HeldLock(self, name, holder, ttl)

    @asynccontextmanager
    async def exclusive(self, name: str, wait_seconds: float = 120.0) -> AsyncIterator[None]:
        """Hold `name` alone for a short critical section, waiting while a live holder has it."""
        holder = process_holder()
        deadline = time.monotonic() + wait_seconds
        while not self.acquire(name, holder):
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {wait_seconds:g}s for {name!r}, held by another process")
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            self.release(name, holder)


class HeldLock:
    """A lock this process holds: a heartbeat thread renews it every quarter of its lifetime until released.

    `check()` renews it at once and raises `LockLost` when another holder has taken it, so a caller that
    checks before each write never writes after losing the lock.
    """

    def __init__(self, store: LockStore, name: str, holder: str, ttl: timedelta) -> None:
        self.store, self.name, self.holder, self.ttl = store, name, holder, ttl
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {name}", daemon=True)

    def __enter__(self) -> HeldLock:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.store.release(self.name, self.holder)

    def check(self) -> None:
        """Renew now; raise LockLost when the lock is no longer ours (it stays lost)."""
        if not self.lost and not self.store.renew(self.name, self.holder, self.ttl):
            self.lost = True
        if self.lost:
            raise LockLost(
                f"this run lost its lock {self.name!r} to another run and stopped before its next write; "
                "what it wrote so far is kept, and the next run carries on"
            )

    def _beat(self) -> None:
        interval = max(self.ttl.total_seconds() / 4, 0.001)
        while not self._stop.wait(interval):
            try:
                if not self.store.renew(self.name, self.holder, self.ttl):
                    self.lost = True
                    return
            except SQLAlchemyError as error:  # a busy database: the next beat tries again
                log.warning("could not renew lock %s: %s", self.name, type(error).__name__)


_PROCESS_HOLDER = re.compile(r"^(?P<host>[^:]+):(?P<pid>\d+):")


def process_holder() -> str:
    """A lock holder name that says which process holds it, so a dead holder's lock can be taken over."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_this_host(holder: str) -> bool:
    match = _PROCESS_HOLDER.match(holder)
    return match is not None and match["host"] == socket.gethostname()


def holder_gone(holder: str) -> bool:
    """True when the holder is a process on this host that no longer runs (killed, crashed)."""
    match = _PROCESS_HOLDER.match(holder)
    return match is not None and match["host"] == socket.gethostname() and not _process_alive(int(match["pid"]))


def holder_dead(holder: str, expires: datetime | None, now: datetime) -> bool:
    """Whether a lock's holder is dead: a process on this host when it is gone, anyone else when its heartbeat
    is stale. The one rule for taking a lock over, closing abandoned runs and the dashboard's "stalled"."""
    if on_this_host(holder):
        return holder_gone(holder)
    return expires is not None and expires < now
