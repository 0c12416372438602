"""Incremental reads through Change Data Capture, with its two limits handled.

CDC reaches back 30 days and answers at most 1000 objects, oldest change
first. A cursor older than that is refused (CursorExpired: the caller falls
back to a full listing). A capped answer is narrowed: the window is re-read
from the newest change it held, until an answer comes back under the cap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from connectors.quickbooks.api import QuickBooksApi
from connectors.quickbooks.errors import QuickBooksError
from connectors.quickbooks.fields import lookup, parse_time, to_record
from engine.records import Page

LOOKBACK = timedelta(days=30)
SAFETY = timedelta(minutes=10)  # refuse cursors this close to the limit: clocks differ
CAP = 1000
CDC_UNAVAILABLE = "this company does not offer Change Data Capture (HTTP {status}): every run lists all customers"


class CursorExpired(Exception):
    """The cursor cannot be served by CDC; the message says why (it becomes the page note)."""


def cursor_at(server_time: str | None, overlap_seconds: float) -> str:
    """The next cursor: when this read started by the server's clock, minus a small overlap."""
    moment = parse_time(server_time) or datetime.now(UTC)
    return (moment - timedelta(seconds=overlap_seconds)).isoformat(timespec="seconds")


def check_cursor(since: object, now: datetime | None = None) -> datetime:
    """The cursor as a time, or CursorExpired when it is unreadable or older than 30 days."""
    start = parse_time(since)
    if start is None or start.tzinfo is None:
        raise CursorExpired(f"unreadable CDC cursor {since!r}: full listing")
    if start < (now or datetime.now(UTC)) - LOOKBACK + SAFETY:
        raise CursorExpired("CDC cursor older than 30 days: full listing")
    return start


async def read_changes(api: QuickBooksApi, since: object, overlap_seconds: float) -> AsyncIterator[Page]:
    """Pages of the customers changed since the cursor; the last one carries the next cursor."""
    changed_since = check_cursor(since)
    started: str | None = None
    while True:
        try:
            customers, server_time = await api.cdc(changed_since.isoformat())
        except QuickBooksError as error:
            if error.status in (404, 501):  # an optional capability missing: degrade, never fail
                raise CursorExpired(CDC_UNAVAILABLE.format(status=error.status)) from error
            if error.fault is not None and any(e.element == "changedSince" for e in error.fault.errors):
                raise CursorExpired(f"CDC refused the cursor ({error}): full listing") from error
            raise
        started = started or server_time
        capped = len(customers) >= CAP
        newest = max((t for t in (parse_time(lookup(c, "MetaData.LastUpdatedTime")) for c in customers) if t),
                     default=None)
        if capped and (newest is None or newest <= changed_since):
            raise CursorExpired(f"more than {CAP} customers changed within one second: full listing")
        records = [to_record(customer) for customer in customers]
        if not capped:
            yield Page(records=records, cursor=cursor_at(started, overlap_seconds), last=True)
            return
        yield Page(records=records, note=f"CDC answer reached its cap of {CAP}: narrowing the window")
        assert newest is not None
        changed_since = newest
