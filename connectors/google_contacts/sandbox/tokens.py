"""Page tokens and sync tokens of `people/me/connections`.

Both are opaque strings bound to the request parameters of the call that
produced them: Google refuses a token sent with other parameters. Sync
tokens remember the change sequence at the start of the listing, so edits
made while it was paged through show up in the next incremental read.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from connectors.google_contacts.sandbox.errors import ApiError, expired_sync_token

Query = dict[str, list[str]]
NOT_COMPARED = ("pageToken", "syncToken")


def signature(query: Query) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The parameters that must match between a token's call and its use."""
    return tuple(sorted((k, tuple(v)) for k, v in query.items() if k not in NOT_COMPARED))


@dataclass
class PageState:
    resources: list[str]
    offset: int
    sync_seq: int
    params: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass
class SyncState:
    seq: int
    params: tuple[tuple[str, tuple[str, ...]], ...]
    expired: bool = False


class Tokens:
    def __init__(self) -> None:
        self.pages: dict[str, PageState] = {}
        self.syncs: dict[str, SyncState] = {}

    def issue_page(self, resources: list[str], offset: int, sync_seq: int, query: Query) -> str:
        token = secrets.token_urlsafe(16)
        self.pages[token] = PageState(resources, offset, sync_seq, signature(query))
        return token

    def page(self, token: str, query: Query) -> PageState:
        state = self.pages.get(token)
        if state is None:
            raise ApiError(400, "Page token is not valid.")
        if state.params != signature(query):
            raise ApiError(400, "Parameters provided with a page token must match the call that produced it.")
        return state

    def issue_sync(self, seq: int, query: Query) -> str:
        token = secrets.token_urlsafe(24)
        self.syncs[token] = SyncState(seq, signature(query))
        return token

    def sync(self, token: str, query: Query) -> int:
        state = self.syncs.get(token)
        if state is None:
            raise ApiError(400, "Sync token is not valid.")
        if state.expired:
            raise expired_sync_token()
        if state.params != signature(query):
            raise ApiError(400, "Parameters provided with a sync token must match the call that produced it.")
        return state.seq

    def expire_all(self) -> int:
        """Expire every sync token issued so far (Google expires them after 7 days)."""
        for state in self.syncs.values():
            state.expired = True
        return len(self.syncs)
