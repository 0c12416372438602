"""Moving the change cursor past a run's own creates, so the next run does not list them all again.

The cursor is a time (`since_last_changed`), and every member a run creates
gets a `last_changed` after the read's cursor, so after an initial sync that
created 100,000 members the next run would list them all again, 1,000 a page.

Mailchimp has no read quota apart from writes: every request shares the ten
connections the creates are using. Listing while the creates go out would
take connections from them and still list each created member once, so this
connector checks once, after the run's last write (`cursor_after_writes`):

1. `GET /ping` for the server's `Date`. The later cursor is that time minus
   the listing's overlap: the ping's answer arrives before any listing below
   is sent, so anything changed after a listing looked has a `last_changed`
   past it. (A listing's own `Date` is not enough: a change made while that
   very request was answered may fall in the same second and be missed by both
   it and the next run.) While more than a page of creates would fall after
   that cursor, it waits a second and pings again (three times at most), so
   the next run does not list them.
2. The members changed since the read's cursor, pages in parallel up to the
   connection limit, and the archived ones (deletions) in the same window.

The later cursor is kept only when the archived listing is empty and the other
lists exactly this run's creates (as many as counted on every page, each
seen), each as its create's answer had it (`last_changed` included, and the
whole record compared, so an edit made in the same second still differs). A
change by anyone else, a deletion, a create whose answer was lost (it is
listed but not known), an address found already present and written with a
PUT, the run's own updates and tag changes (an update merges into whatever
the member holds meanwhile) keep the read's cursor, and the next run reads
those changes as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime
from email.utils import parsedate_to_datetime

from connectors.mailchimp.api import Json, MarketingApi
from connectors.mailchimp.listing import FIELDS_EXCLUDED, cursor_of
from engine.records import Record

ToRecord = Callable[[Json], Record]
WAIT_SECONDS = 1.0  # long enough for the server's clock to reach the next second
WAITS = 3  # a server's Date may lag its clock by a second (uvicorn's does): at most three seconds


class Follower:
    """Remembers this run's creates and, after its last write, checks whether the cursor may skip them."""

    def __init__(self, api: MarketingApi, list_id: str, page_size: int, connections: int,
                 to_record: ToRecord) -> None:
        self.api = api
        self.path = f"/lists/{list_id}/members"
        self.page_size = page_size
        self.connections = max(connections, 1)
        self.to_record = to_record
        self.own: dict[str, Record] = {}  # member id -> the record its create answered with
        self.gave_up = False

    def created(self, records: Iterable[Record]) -> None:
        """Members Mailchimp reported as newly added by this run, as its answer showed them."""
        for record in records:
            self.own[record.id] = record

    def give_up(self) -> None:
        """The run changed members in a way a listing cannot tell from others' changes: keep the read's cursor."""
        self.gave_up = True

    async def cursor_after(self, since: str) -> str:
        """A cursor past every own create when nothing else changed since `since`; otherwise `since`."""
        if self.gave_up or not self.own:
            return since
        try:
            later = await self._check(since)
        except Exception:  # noqa: BLE001 - whatever went wrong, the read's cursor is still right
            return since
        return later or since

    async def _check(self, since: str) -> str | None:
        later = await self._later_cursor()
        if later is None or datetime.fromisoformat(later) <= datetime.fromisoformat(since):
            return None
        archived, first = await asyncio.gather(
            self.api.get(self.path, {**self._params(since, 0, 1), "status": "archived"}),
            self.api.get(self.path, self._params(since, 0, self.page_size)),
        )
        total = _total(first)
        if _total(archived) or archived.get("members") or total != len(self.own):
            return None
        seen: set[str] = set()
        if not self._all_own(first, total, seen):
            return None
        offsets = list(range(self.page_size, total, self.page_size))
        for wave in range(0, len(offsets), self.connections):
            pages = await asyncio.gather(*(self.api.get(self.path, self._params(since, offset, self.page_size))
                                           for offset in offsets[wave: wave + self.connections]))
            if not all(self._all_own(page, total, seen) for page in pages):
                return None
        return later if len(seen) == total else None

    async def _later_cursor(self) -> str | None:
        """The server's time minus the overlap, from an answer that arrives before the listing is sent."""
        cursor = await self._server_cursor()
        for _ in range(WAITS):
            if cursor is None or self._after(cursor) <= self.page_size:
                break
            await asyncio.sleep(WAIT_SECONDS)  # a page or more created in this second: let the clock move on
            cursor = await self._server_cursor()
        return cursor

    async def _server_cursor(self) -> str | None:
        _, date = await self.api.get_with_date("/ping")
        if not date:
            return None  # no server clock: our own may be ahead of it
        with contextlib.suppress(TypeError, ValueError):
            parsedate_to_datetime(date)
            return cursor_of(date)
        return None

    def _after(self, cursor: str) -> int:
        """How many own creates the next read from `cursor` would list again."""
        when = datetime.fromisoformat(cursor)
        return sum(1 for r in self.own.values() if r.updated is None or r.updated > when)

    def _all_own(self, page: Json, total: int, seen: set[str]) -> bool:
        """Every member on the page is an own create exactly as created, and the count has not moved."""
        if _total(page) != total:
            return False  # members came or went while the pages were read: offsets shifted
        for member in page.get("members") or []:
            record = self.to_record(member)
            if self.own.get(record.id) != record:
                return False
            seen.add(record.id)
        return True

    def _params(self, since: str, offset: int, count: int) -> dict[str, str | int]:
        return {"since_last_changed": since, "offset": offset, "count": count, "exclude_fields": FIELDS_EXCLUDED}


def _total(answer: Json) -> int:
    return int(answer.get("total_items") or 0)
