"""Which account each side of a connection was synced with, so another account's links are never reused.

Links, merge bases, cursors and the record index hold ids of one account. When the settings that select a
side's data change (another `base_url`, key, company or store), that state belongs to an account the side no
longer reads: the connection starts that side afresh instead of writing to the wrong records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from engine.state import tables as t
from engine.state.database import Database
from engine.state.tables import utcnow

_IDENTITIES = t.AccountIdentity.__table__  # type: ignore[attr-defined]
_LINKS = t.Link.__table__  # type: ignore[attr-defined]
_CURSORS = t.Cursor.__table__  # type: ignore[attr-defined]
_SEEN = t.SeenRecord.__table__  # type: ignore[attr-defined]
_RETRIES = t.Retry.__table__  # type: ignore[attr-defined]
_JOURNAL = t.JournalEntry.__table__  # type: ignore[attr-defined]


class IdentityStore(Database):
    """The identity each side was last synced with, and starting a side afresh when it changed."""

    def identity(self, connection: str, side: str) -> tuple[str, dict[str, Any]] | None:
        with self._tx() as tx:
            row = tx.execute(
                select(_IDENTITIES.c.fingerprint, _IDENTITIES.c.described).where(
                    _IDENTITIES.c.connection == connection, _IDENTITIES.c.side == side
                )
            ).first()
            return (row[0], dict(row[1])) if row else None

    def save_identity(self, connection: str, side: str, fingerprint: str, described: dict[str, Any]) -> None:
        with self._tx() as tx:
            statement = self._upsert(_IDENTITIES).values(
                connection=connection, side=side, fingerprint=fingerprint, described=described, updated_at=utcnow()
            )
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["connection", "side"],
                    set_={
                        "fingerprint": statement.excluded.fingerprint,
                        "described": statement.excluded.described,
                        "updated_at": statement.excluded.updated_at,
                    },
                )
            )

    def start_afresh(self, connection: str, side: str) -> int:
        """Forget what the connection knows of `side`'s old account: every link (a link names a record of each
        side), both cursors (the other side is read in full to be matched again), that side's index, retries
        and unfinished write intents. Returns how many links were dropped."""
        with self._tx() as tx:
            dropped = tx.execute(delete(_LINKS).where(_LINKS.c.connection == connection)).rowcount or 0
            tx.execute(delete(_CURSORS).where(_CURSORS.c.connection == connection))
            tx.execute(delete(_SEEN).where(_SEEN.c.connection == connection, _SEEN.c.side == side))
            tx.execute(delete(_RETRIES).where(_RETRIES.c.connection == connection, _RETRIES.c.side == side))
            tx.execute(
                delete(_JOURNAL).where(_JOURNAL.c.connection == connection, _JOURNAL.c.status == "pending")
            )
            return int(dropped)
