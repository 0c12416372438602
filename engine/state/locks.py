"""Named locks with a holder and an expiry: one run of a connection at a time, across processes."""

from __future__ import annotations

import os
import re
import socket
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from engine.state import tables as t
from engine.state.database import Database
from engine.state.tables import utcnow

_LOCKS = t.Lock.__table__  # type: ignore[attr-defined]


class LockStore(Database):
    """Locks kept in the state database, so every process sharing it sees them."""

    def acquire(self, name: str, holder: str, ttl: timedelta = timedelta(minutes=30)) -> bool:
        """Take a named lock unless another holder has it and it has not expired."""
        now = utcnow()
        with self._tx() as tx:
            tx.execute(delete(_LOCKS).where(_LOCKS.c.name == name, _LOCKS.c.expires_at < now))
            try:
                with tx.begin_nested():
                    tx.execute(_LOCKS.insert().values(name=name, holder=holder, expires_at=now + ttl))
            except IntegrityError:
                row = tx.execute(select(_LOCKS.c.holder).where(_LOCKS.c.name == name)).first()
                if row is None or row[0] == holder:
                    return True
                if not holder_gone(row[0]):
                    return False
                tx.execute(
                    update(_LOCKS)
                    .where(_LOCKS.c.name == name, _LOCKS.c.holder == row[0])
                    .values(holder=holder, expires_at=now + ttl)
                )
        return True

    def release(self, name: str, holder: str) -> None:
        with self._tx() as tx:
            tx.execute(delete(_LOCKS).where(_LOCKS.c.name == name, _LOCKS.c.holder == holder))


_PROCESS_HOLDER = re.compile(r"^(?P<host>[^:]+):(?P<pid>\d+):")


def process_holder() -> str:
    """A lock holder name that says which process holds it, so a dead holder's lock can be taken over."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def on_this_host(holder: str) -> bool:
    match = _PROCESS_HOLDER.match(holder)
    return match is not None and match["host"] == socket.gethostname()


def holder_gone(holder: str) -> bool:
    """True when the holder is a process on this host that no longer runs (killed, crashed)."""
    match = _PROCESS_HOLDER.match(holder)
    if match is None or match["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
