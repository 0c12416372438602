"""Change cursors: where each side's next incremental read starts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.state import tables as t
from engine.state.database import Database
from engine.state.tables import utcnow

_CURSORS = t.Cursor.__table__  # type: ignore[attr-defined]


class CursorStore(Database):
    """One opaque cursor per connection and side, as the connector handed it over."""

    def cursor(self, connection: str, side: str) -> Any:
        with self._tx() as tx:
            row = tx.execute(
                select(_CURSORS.c.value).where(_CURSORS.c.connection == connection, _CURSORS.c.side == side)
            ).first()
            return row[0] if row else None

    def save_cursor(self, connection: str, side: str, value: Any) -> None:
        with self._tx() as tx:
            statement = self._upsert(_CURSORS).values(
                connection=connection, side=side, value=value, updated_at=utcnow()
            )
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["connection", "side"],
                    set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
                )
            )
