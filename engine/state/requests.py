"""Run requests: what was asked of a connection, waiting for its queued job or taken by the job running now.

Every trigger (schedule, API, webhook, resync, retry) adds its wish here and
then asks the queue for a job; the queue keeps at most one waiting job per
connection, and that job takes every waiting wish at once when it starts. A
burst of webhooks so becomes one targeted run naming all their records, and a
schedule that fires while a webhook job waits is not lost: the job reads the
change feed. A taken wish is dropped only when its run ends, so a job retried
after its worker died runs the same wish again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, RowMapping

from engine.state import tables as t
from engine.state.database import Database, aware
from engine.state.tables import utcnow

_REQUESTS = t.RunRequest.__table__  # type: ignore[attr-defined]
WAITING, TAKEN = "waiting", "taken"


@dataclass
class RunWish:
    """The merged wishes for one connection."""

    feed: bool = False
    full: bool = False
    triggers: list[str] = field(default_factory=list)
    named: dict[str, list[str]] = field(default_factory=dict)
    first_at: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.feed and not any(self.named.values())

    @property
    def trigger(self) -> str:
        return "+".join(self.triggers) or "queue"

    def merge(self, other: RunWish) -> RunWish:
        triggers = [*self.triggers, *(t for t in other.triggers if t not in self.triggers)]
        named = {
            side: sorted({*self.named.get(side, []), *other.named.get(side, [])})
            for side in {*self.named, *other.named}
        }
        firsts = [when for when in (self.first_at, other.first_at) if when is not None]
        return RunWish(self.feed or other.feed, self.full or other.full, triggers, named, min(firsts, default=None))


class RequestStore(Database):
    """Wishes are merged under row locks, so concurrent triggers from many processes lose nothing."""

    def request_run(
        self, connection: str, trigger: str, *, full: bool = False, named: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        """Ask for a run: the change feed (no `named`) or a targeted run of the named ids per side."""
        asked = RunWish(
            feed=named is None,
            full=full,
            triggers=[trigger],
            named={side: sorted(set(ids)) for side, ids in (named or {}).items()},
            first_at=utcnow(),
        )
        with self._tx() as tx:
            self._ensure(tx, connection, WAITING)
            rows = _locked(tx, connection)
            _put(tx, connection, WAITING, rows[WAITING], asked)

    def take_requests(self, connection: str) -> RunWish | None:
        """Move the waiting wish into the taken one and return it; None when nothing was asked."""
        with self._tx() as tx:
            rows = _locked(tx, connection)
            waiting, taken = rows.get(WAITING), rows.get(TAKEN)
            if waiting is None:
                return taken
            _drop(tx, connection, WAITING)
            if taken is None:
                _insert(tx, connection, TAKEN, waiting)
                return waiting
            return _put(tx, connection, TAKEN, taken, waiting)

    def finish_requests(self, connection: str) -> None:
        """The run of the taken wish ended: forget it."""
        with self._tx() as tx:
            _drop(tx, connection, TAKEN)

    def return_requests(self, connection: str) -> None:
        """The run could not start (another process runs the connection): the taken wish waits again."""
        with self._tx() as tx:
            taken = _locked(tx, connection).get(TAKEN)
            if taken is None:
                return
            _drop(tx, connection, TAKEN)
            self._ensure(tx, connection, WAITING)
            _put(tx, connection, WAITING, _locked(tx, connection)[WAITING], taken)

    def _ensure(self, tx: Connection, connection: str, status: str) -> None:
        """An empty row to lock, inserted unless one exists: two processes asking at once both wait on it."""
        empty = {"feed": False, "full": False, "triggers": [], "named": {}, "first_at": utcnow()}
        statement = self._upsert(_REQUESTS).values(connection=connection, status=status, **empty)
        tx.execute(statement.on_conflict_do_nothing(index_elements=["connection", "status"]))

    def waiting_requests(self) -> dict[str, RunWish]:
        with self._tx() as tx:
            rows = tx.execute(select(_REQUESTS).where(_REQUESTS.c.status == WAITING)).mappings()
            return {row["connection"]: _wish(row) for row in rows}


def _locked(tx: Connection, connection: str) -> dict[str, RunWish]:
    rows = tx.execute(select(_REQUESTS).where(_REQUESTS.c.connection == connection).with_for_update()).mappings()
    return {row["status"]: _wish(row) for row in rows}


def _values(wish: RunWish) -> dict[str, object]:
    return {
        "feed": wish.feed,
        "full": wish.full,
        "triggers": wish.triggers,
        "named": wish.named,
        "first_at": wish.first_at or utcnow(),
    }


def _insert(tx: Connection, connection: str, status: str, wish: RunWish) -> None:
    tx.execute(_REQUESTS.insert().values(connection=connection, status=status, **_values(wish)))


def _put(tx: Connection, connection: str, status: str, existing: RunWish, added: RunWish) -> RunWish:
    wish = existing.merge(added)
    tx.execute(
        _REQUESTS.update()
        .where(_REQUESTS.c.connection == connection, _REQUESTS.c.status == status)
        .values(**_values(wish))
    )
    return wish


def _drop(tx: Connection, connection: str, status: str) -> None:
    tx.execute(delete(_REQUESTS).where(_REQUESTS.c.connection == connection, _REQUESTS.c.status == status))


def _wish(row: RowMapping) -> RunWish:
    return RunWish(
        feed=bool(row["feed"]),
        full=bool(row["full"]),
        triggers=list(row["triggers"]),
        named={side: list(ids) for side, ids in dict(row["named"]).items()},
        first_at=aware(row["first_at"]),
    )
