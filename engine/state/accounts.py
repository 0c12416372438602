"""Account health: whether an account's credentials still work, and what fixes them when they do not.

A revoked key or refresh token (401, `invalid_grant`) marks the account `needs reconnect`;
until `pairsync connect` clears the mark, no connection using the account reads or writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from engine.state import tables as t
from engine.state.database import Database, aware

_ACCOUNTS = t.AccountStatus.__table__  # type: ignore[attr-defined]

OK = "ok"
NEEDS_RECONNECT = "needs reconnect"


@dataclass(frozen=True)
class AccountHealth:
    """What `status`, `check`, the API and the dashboard show for one account."""

    account: str
    status: str = OK
    reason: str = ""
    since: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def fix(self, config: str = "<config>") -> str:
        """The command that clears the mark ("" when nothing needs fixing)."""
        return "" if self.ok else f"pairsync connect {config} {self.account}"

    def to_json(self, config: str = "<config>") -> dict[str, object]:
        return {
            "account": self.account,
            "status": self.status,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "fix": self.fix(config),
        }


class AccountStore(Database):
    """The `accounts` table: one row per account that needs attention; no row means healthy."""

    def account_health(self, account: str) -> AccountHealth:
        with self._tx() as tx:
            row = tx.execute(
                select(_ACCOUNTS.c.status, _ACCOUNTS.c.reason, _ACCOUNTS.c.since).where(_ACCOUNTS.c.account == account)
            ).first()
        if row is None:
            return AccountHealth(account)
        return AccountHealth(account, str(row[0]), str(row[1]), aware(row[2]))

    def mark_needs_reconnect(self, account: str, reason: str) -> bool:
        """Mark the account; True when it was healthy until now (the moment to notify)."""
        was_ok = self.account_health(account).ok
        with self._tx() as tx:
            statement = self._upsert(_ACCOUNTS).values(
                account=account, status=NEEDS_RECONNECT, reason=reason[:500], since=t.utcnow()
            )
            tx.execute(
                statement.on_conflict_do_update(
                    index_elements=["account"], set_={"status": NEEDS_RECONNECT, "reason": statement.excluded.reason}
                )
            )
        return was_ok

    def mark_connected(self, account: str) -> bool:
        """Clear the mark; True when there was one (the account recovered)."""
        was_marked = not self.account_health(account).ok
        with self._tx() as tx:
            tx.execute(delete(_ACCOUNTS).where(_ACCOUNTS.c.account == account))
        return was_marked
