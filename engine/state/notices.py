"""Notification periods: at most one message per target, connection and event kind per period."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.state import tables as t
from engine.state.database import Database

_NOTICES = t.Notice.__table__  # type: ignore[attr-defined]


class NoticeStore(Database):
    def claim_notice(self, target: str, connection: str, kind: str, period: timedelta, now: datetime) -> bool:
        """True (and the time remembered) when nothing was sent for this key within `period` before `now`.

        One conditional upsert, not a read then a write: of several processes claiming the same key at
        the same instant exactly one row change happens, so exactly one of them sends.
        """
        statement = self._upsert(_NOTICES).values(target=target, connection=connection, kind=kind, sent_at=now)
        claim = statement.on_conflict_do_update(
            index_elements=["target", "connection", "kind"],
            set_={"sent_at": statement.excluded.sent_at},
            where=_NOTICES.c.sent_at <= now - period,
        ).returning(_NOTICES.c.sent_at)
        with self._tx() as tx:
            return tx.execute(claim).first() is not None  # no row back: the period still runs
