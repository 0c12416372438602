"""Credentials a connector persists between runs (rotated refresh tokens, tokens from `pairsync connect`).

Every value is encrypted before it reaches the database (see `engine.state.crypto`);
a row written in plaintext by an older pairsync is read once and sealed again.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from engine.secrets import REDACTOR
from engine.state import tables as t
from engine.state.crypto import SecretBox, is_sealed, load_box
from engine.state.database import Database

_CREDENTIALS = t.Credential.__table__  # type: ignore[attr-defined]


def reconnect_hint(account: str) -> str:
    return f"reconnect the account with `pairsync connect <config> {account}`"


class CredentialStore(Database):
    """Secrets by account and key; every value read or written is registered with the redactor."""

    _box: SecretBox | None = None

    def secret_box(self) -> SecretBox:
        """The cipher for this store's secrets, loaded (and its key file created) on first use."""
        if self._box is None:
            self._box = load_box(self.url)
        return self._box

    def credential(self, account: str, key: str) -> str | None:
        with self._tx() as tx:
            row = tx.execute(
                select(_CREDENTIALS.c.value).where(_CREDENTIALS.c.account == account, _CREDENTIALS.c.key == key)
            ).first()
        if row is None:
            return None
        stored = str(row[0])
        if is_sealed(stored):
            value = self.secret_box().open(stored, _context(account, key), reconnect_hint(account))
        else:
            value = stored
            self.save_credential(account, key, value)  # written by an older version: seal it now
        REDACTOR.add(value)
        return value

    def save_credential(self, account: str, key: str, value: str) -> None:
        REDACTOR.add(value)
        sealed = self.secret_box().seal(value, _context(account, key))
        with self._tx() as tx:
            statement = self._upsert(_CREDENTIALS).values(account=account, key=key, value=sealed)
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["account", "key"], set_={"value": statement.excluded.value}
                )
            )

    def forget_credentials(self, account: str) -> None:
        """Drop every saved credential of an account (before `connect` stores new ones)."""
        with self._tx() as tx:
            tx.execute(delete(_CREDENTIALS).where(_CREDENTIALS.c.account == account))


def _context(account: str, key: str) -> str:
    return f"{account}\0{key}"
