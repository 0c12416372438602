"""Notification periods: at most one message per target, connection and event kind per period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.state import tables as t
from engine.state.database import Database, aware

_NOTICES = t.Notice.__table__  # type: ignore[attr-defined]


class NoticeStore(Database):
    def claim_notice(self, target: str, connection: str, kind: str, period: timedelta, now: datetime) -> bool:
        """True (and the time remembered) when nothing was sent for this key within `period` before `now`."""
        key = (_NOTICES.c.target == target, _NOTICES.c.connection == connection, _NOTICES.c.kind == kind)
        with self._tx() as tx:
            row = tx.execute(select(_NOTICES.c.sent_at).where(*key)).first()
            last = aware(row[0]) if row else None
            if last is not None and now - last < period:
                return False
            statement = self._upsert(_NOTICES).values(target=target, connection=connection, kind=kind, sent_at=now)
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["target", "connection", "kind"], set_={"sent_at": statement.excluded.sent_at}
                )
            )
        return True
