"""The state store: everything a connection remembers between runs.

SQLite by default, any SQLAlchemy URL (PostgreSQL tested) through `state:`. Alembic migrates the schema on open.
Each concern lives in its own module and class; `StateStore` is their union over one database.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from engine.state.accounts import AccountStore
from engine.state.credentials import CredentialStore
from engine.state.cursors import CursorStore
from engine.state.database import migrate, normalise_url
from engine.state.identities import IdentityStore
from engine.state.journal import JournalStore
from engine.state.links import LinkStore
from engine.state.locks import LockStore, process_holder
from engine.state.notices import NoticeStore
from engine.state.problems import explain
from engine.state.requests import RequestStore
from engine.state.retries import RetryStore
from engine.state.review import ReviewStore
from engine.state.runs import RunStore
from engine.state.schedules import ScheduleStore

__all__ = ["StateStore", "normalise_url", "process_holder"]


class StateStore(
    LinkStore,
    CursorStore,
    JournalStore,
    RunStore,
    RetryStore,
    CredentialStore,
    LockStore,
    ScheduleStore,
    RequestStore,
    IdentityStore,
    AccountStore,
    NoticeStore,
    ReviewStore,
):
    """Links and merge bases, the record index, cursors, the write journal, runs, retries, credentials, locks,
    account identities and health, notices sent, the review queue, and the queue's schedules and run requests.

    Opening it closes the runs a dead process left `running` (`closed_on_open` holds their ids).
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            migrate(self.engine)
        except DBAPIError as error:
            self.engine.dispose()
            raise explain(error, url) or error from None
        self.closed_on_open = self.close_abandoned_runs()
