"""The write journal: intents recorded before they are sent, so an interrupted run resumes with the same keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, update

from engine.secrets import REDACTOR
from engine.state import tables as t
from engine.state.database import Database
from engine.state.tables import utcnow

_JOURNAL = t.JournalEntry.__table__  # type: ignore[attr-defined]


class JournalStore(Database):
    """Pending, done and failed write intents by key."""

    def pending(self, connection: str) -> dict[tuple[str, str, str], str]:
        """Unfinished write intents: (side, kind, source id) -> key."""
        with self._tx() as tx:
            rows = tx.execute(
                select(_JOURNAL.c.side, _JOURNAL.c.kind, _JOURNAL.c.source_id, _JOURNAL.c.key).where(
                    _JOURNAL.c.connection == connection, _JOURNAL.c.status == "pending"
                )
            )
            return {(side, kind, source or ""): key for side, kind, source, key in rows}

    def journal(self, connection: str, run_id: int, intents: Sequence[tuple[str, str, str, str]]) -> None:
        """Record write intents (key, side, kind, source id) before they are sent; a known key is kept."""
        now = utcnow()
        rows = [
            {
                "key": key,
                "connection": connection,
                "side": side,
                "kind": kind,
                "source_id": source,
                "status": "pending",
                "run_id": run_id,
                "created_at": now,
            }
            for key, side, kind, source in intents
        ]
        if not rows:
            return
        statement = self._upsert(_JOURNAL).on_conflict_do_nothing(index_elements=["key"])
        with self._tx() as tx:
            tx.execute(statement, rows)  # executemany: no limit on the number of intents

    def settle(self, outcomes: Sequence[tuple[str, str | None, str | None]]) -> None:
        """Close journal entries: (key, target id, error or None), in one statement."""
        if not outcomes:
            return
        statement = (
            update(_JOURNAL)
            .where(_JOURNAL.c.key == bindparam("journal_key"))
            .values(
                status=bindparam("new_status"),
                target_id=bindparam("new_target"),
                error=bindparam("new_error"),
                finished_at=bindparam("new_finished"),
            )
        )
        now = utcnow()
        with self._tx() as tx:
            tx.execute(
                statement,
                [
                    {
                        "journal_key": key,
                        "new_status": "failed" if error else "done",
                        "new_target": target,
                        "new_error": REDACTOR.redact(error) if error else None,
                        "new_finished": now,
                    }
                    for key, target, error in outcomes
                ],
            )
