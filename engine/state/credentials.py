"""Credentials a connector persists between runs (rotated refresh tokens)."""

from __future__ import annotations

from sqlalchemy import select

from engine.secrets import REDACTOR
from engine.state import tables as t
from engine.state.database import Database

_CREDENTIALS = t.Credential.__table__  # type: ignore[attr-defined]


class CredentialStore(Database):
    """Secrets by account and key; every value read or written is registered with the redactor."""

    def credential(self, account: str, key: str) -> str | None:
        with self._tx() as tx:
            row = tx.execute(
                select(_CREDENTIALS.c.value).where(_CREDENTIALS.c.account == account, _CREDENTIALS.c.key == key)
            ).first()
        if row is None:
            return None
        REDACTOR.add(row[0])
        return str(row[0])

    def save_credential(self, account: str, key: str, value: str) -> None:
        REDACTOR.add(value)
        with self._tx() as tx:
            statement = self._upsert(_CREDENTIALS).values(account=account, key=key, value=value)
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["account", "key"], set_={"value": statement.excluded.value}
                )
            )
