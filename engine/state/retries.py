"""Records that failed in the last run of a side, to be fetched and tried again next run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from engine.secrets import REDACTOR
from engine.state import tables as t
from engine.state.database import Database
from engine.state.tables import utcnow

_RETRIES = t.Retry.__table__  # type: ignore[attr-defined]


class RetryStore(Database):
    """The retry list of each connection and side."""

    def retries(self, connection: str, side: str) -> list[str]:
        with self._tx() as tx:
            rows = tx.execute(
                select(_RETRIES.c.record_id).where(_RETRIES.c.connection == connection, _RETRIES.c.side == side)
            )
            return [r[0] for r in rows]

    def set_retries(self, connection: str, side: str, failures: dict[str, str]) -> None:
        """Replace the retry list of a side with this run's failures (record id -> error).

        `attempts` counts the runs in a row a record has failed (notifications use it).
        """
        with self._tx() as tx:
            where = (_RETRIES.c.connection == connection, _RETRIES.c.side == side)
            rows = tx.execute(select(_RETRIES.c.record_id, _RETRIES.c.attempts).where(*where))
            before: dict[str, int] = {str(row[0]): int(row[1]) for row in rows}
            tx.execute(delete(_RETRIES).where(*where))
            if failures:
                tx.execute(
                    _RETRIES.insert(),
                    [
                        {
                            "connection": connection,
                            "side": side,
                            "record_id": rid,
                            "error": REDACTOR.redact(error),
                            "attempts": before.get(rid, 0) + 1,  # runs in a row this record failed
                            "last_failed_at": utcnow(),
                        }
                        for rid, error in failures.items()
                    ],
                )

    def failures(self, connection: str) -> list[dict[str, Any]]:
        with self._tx() as tx:
            return [dict(r) for r in tx.execute(select(_RETRIES).where(_RETRIES.c.connection == connection)).mappings()]
