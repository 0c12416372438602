"""Following the sync token while a run creates contacts, so the next run does not page through them.

A sync token is handed out only at the end of a listing, so after a run that
created 100,000 contacts the next incremental read would page through all of
them (1,000 a page) to reach a fresh token. Google meters reads apart from
writes, so while the creates go out the connector lists the changes since
the token its own read ended with, on the read quota, and moves the token on.

The token is kept only when every change it skips is a contact this run
created and Google returned with that very etag: such a contact is exactly
what the run already remembers. Anything else (an update by someone else, a
deletion, a create whose answer was lost, this run's own updates or label
changes, whose merged result may hold an edit made meanwhile) means the next
run must read from the token the run's read ended with, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connectors.google_contacts.api import Json, PeopleApi

CONNECTIONS = "/v1/people/me/connections"


class Follower:
    """Moves a sync token past this run's own creates, reading between write batches."""

    def __init__(self, api: PeopleApi, params: dict[str, Any], token: str, every: int) -> None:
        self.api = api
        self.params = params
        self.start = token
        self.token = token
        self.every = max(every, 1)  # own creates between two catch-ups: about one page of changes
        self.own: dict[str, str] = {}  # resourceName -> etag Google returned for this run's create, until seen
        self.doubtful: dict[str, Doubt] = {}  # seen, not (yet) known as an own create
        self.answers = 0  # write calls answered so far
        self.gave_up = False
        self._since_last = 0
        self._wake = asyncio.Event()
        self._done = False
        self._task: asyncio.Task[None] | None = None

    def created(self, people: Iterable[Json]) -> None:
        """One write call's answer: the contacts it created, as Google returned them."""
        self.answers += 1
        for person in people:
            self.own[person["resourceName"]] = str(person.get("etag"))
            self._since_last += 1
        if self._since_last >= self.every:
            self._since_last = 0
            self._wake.set()
        if self._task is None and not self.gave_up:
            self._task = asyncio.create_task(self._loop())

    def give_up(self) -> None:
        """The run changed contacts in a way the feed cannot tell from others' changes: keep the read's token."""
        self.gave_up = True
        self._wake.set()

    async def finish(self) -> str | None:
        """After the run's last write: the token past every own create, or None to keep the read's token."""
        if self._task is None:
            return None
        self._done = True
        self._wake.set()
        try:
            await self._task
            await self._catch_up()  # the creates answered since the last catch-up
        except Exception:  # noqa: BLE001 - whatever went wrong, the read's token is still right
            return None
        self._settle(final=True)
        return self._kept()

    def _kept(self) -> str | None:
        return None if self.gave_up else self.token

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # the run is ending: nothing to keep
                await self._task

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._done or self.gave_up:
                return
            try:
                await self._catch_up()
            except Exception:  # noqa: BLE001 - a failed catch-up only means the read's token is kept
                self.gave_up = True
                return
            self._settle(final=False)

    async def _catch_up(self) -> None:
        """Page from the current token to a new one, doubting every change that is not a known own create."""
        if self.gave_up:
            return
        noted_at = self.answers
        page_token: str | None = None
        while True:
            query = {**self.params, "syncToken": self.token, **({"pageToken": page_token} if page_token else {})}
            answer = await self.api.read(CONNECTIONS, query)
            for person in answer.get("connections") or []:
                deleted = bool((person.get("metadata") or {}).get("deleted"))
                etag = None if deleted else str(person.get("etag"))
                name = person["resourceName"]
                if etag is not None and self.own.get(name) == etag:
                    del self.own[name]  # confirmed: any later change of it has another etag, and is doubted
                    self.doubtful.pop(name, None)
                else:
                    self.doubtful[name] = Doubt(etag, noted_at)
            page_token = answer.get("nextPageToken")
            if not page_token:
                break
        next_token = answer.get("nextSyncToken")
        if not next_token:
            self.gave_up = True
            return
        self.token = next_token

    def _settle(self, final: bool) -> None:
        """Drop doubts that own creates now explain. One that outlived the write call in flight when it was
        seen (two answers later), or the run's last write, was someone else's change: give up."""
        self.doubtful = {n: d for n, d in self.doubtful.items() if d.etag is None or self.own.get(n) != d.etag}
        if any(final or self.answers - d.noted_at >= 2 for d in self.doubtful.values()):
            self.gave_up = True


@dataclass(frozen=True)
class Doubt:
    """A change seen in the feed that is not (yet) known as an own create."""

    etag: str | None  # None: the contact was deleted
    noted_at: int  # write calls answered when it was seen
