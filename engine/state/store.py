"""The state store: everything a connection remembers between runs.

SQLite by default, any SQLAlchemy URL (PostgreSQL tested) through `state:`. Alembic migrates the schema on open.
Each concern lives in its own module and class; `StateStore` is their union over one database.
"""

from __future__ import annotations

from engine.state.credentials import CredentialStore
from engine.state.cursors import CursorStore
from engine.state.database import migrate, normalise_url
from engine.state.journal import JournalStore
from engine.state.links import LinkStore
from engine.state.locks import LockStore, process_holder
from engine.state.retries import RetryStore
from engine.state.review import ReviewStore
from engine.state.runs import RunStore

__all__ = ["StateStore", "normalise_url", "process_holder"]


class StateStore(
    LinkStore, CursorStore, JournalStore, RunStore, RetryStore, CredentialStore, LockStore, ReviewStore
):
    """Links and merge bases, the record index, cursors, the write journal, runs, retries, credentials, locks
    and the review queue."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        migrate(self.engine)
