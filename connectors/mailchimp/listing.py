"""Reading an audience: offset pages, a `since_last_changed` cursor from the server's clock, a count check.

A full listing pages with `count` and `offset` through the members Mailchimp
lists by default (every status but archived) and compares what it read with
the `total_items` the API reports: a listing that came back short (members
archived while it paged shift the offsets) is marked incomplete, so a missing
member is never taken for a deleted one. An incremental read asks for members
changed since the cursor, then for members archived since it (the deletions).

The cursor is the server's own `Date` at the start of the read, one second
early: `last_changed` has whole seconds and `since_last_changed` means
"after", so an edit in the same second as the read is read again next time
rather than missed (the merge base makes a second read harmless).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.mailchimp.api import Json, MarketingApi
from engine.records import Page, Record

ToRecord = Callable[[Json], Record]
OVERLAP = timedelta(seconds=1)
FIELDS_EXCLUDED = "members._links,_links"


def cursor_of(date_header: str | None) -> str:
    """The next cursor: the server's time minus the overlap, as ISO 8601 (our clock if it sent no Date)."""
    when = datetime.now(UTC)
    if date_header:
        with contextlib.suppress(TypeError, ValueError):
            when = parsedate_to_datetime(date_header)
    return (when.astimezone(UTC) - OVERLAP).replace(microsecond=0).isoformat()


def check_cursor(cursor: Any) -> str:
    if not isinstance(cursor, str) or not cursor:
        raise ValueError("a mailchimp cursor is an ISO 8601 time (the since_last_changed of the next read)")
    datetime.fromisoformat(cursor)
    return cursor


def shortfall(seen: int, first_total: int, last_total: int) -> str | None:
    """Why a full listing cannot count as complete: fewer members than reported, or the count moved."""
    if seen < max(first_total, last_total):
        return f"Mailchimp listed {seen} of {max(first_total, last_total)} members: not treated as complete"
    if first_total != last_total:
        return (f"the audience changed from {first_total} to {last_total} members while it was read (offsets "
                "shift): not treated as complete")
    return None


class Listing:
    """The members of one audience, page by page."""

    def __init__(self, api: MarketingApi, list_id: str, page_size: int, to_record: ToRecord) -> None:
        self.api = api
        self.path = f"/lists/{list_id}/members"
        self.page_size = page_size
        self.to_record = to_record

    async def full(self) -> AsyncIterator[Page]:
        seen: set[str] = set()
        cursor: str | None = None
        first_total: int | None = None
        offset = 0
        while True:
            answer, date = await self.api.get_with_date(self.path, self._params(offset))
            cursor = cursor or cursor_of(date)
            records = [self.to_record(m) for m in answer.get("members") or []]
            seen.update(r.id for r in records)
            offset += len(records)
            total = int(answer.get("total_items") or 0)
            first_total = total if first_total is None else first_total
            if records and offset < total:
                yield Page(records=records, full=True)
                continue
            note = shortfall(len(seen), first_total, total)
            yield Page(records=records, cursor=cursor, last=True, full=note is None, note=note)
            return

    async def changed(self, since: str) -> AsyncIterator[Page]:
        """Members changed after `since`, then members archived after it (read as deletions).

        When a pass came back short or its count moved (offsets shifted under it, so a member may
        have been skipped), the cursor stays where it was: the next read asks for the same window.
        """
        cursor: str | None = None
        notes: list[str] = []
        for status in (None, "archived"):
            seen: set[str] = set()
            totals: list[int] = []
            offset = 0
            while True:
                params = {**self._params(offset), "since_last_changed": since}
                if status:
                    params["status"] = status
                answer, date = await self.api.get_with_date(self.path, params)
                cursor = cursor or cursor_of(date)
                records = [self.to_record(m) for m in answer.get("members") or []]
                seen.update(r.id for r in records)
                totals.append(int(answer.get("total_items") or 0))
                offset += len(records)
                if records and offset < totals[-1]:
                    yield Page(records=records)
                    continue
                note = shortfall(len(seen), totals[0], totals[-1])
                notes += [note] if note else []
                if not status:
                    yield Page(records=records)
                    break
                kept = f"; the next read starts again from {since}" if notes else ""
                yield Page(records=records, cursor=since if notes else cursor, last=True,
                           note="; ".join(notes) + kept if notes else None)
                break

    def _params(self, offset: int) -> dict[str, str | int]:
        return {"count": self.page_size, "offset": offset, "exclude_fields": FIELDS_EXCLUDED}
