"""Incremental reads from the Events API: the cursor is the newest event seen.

Stripe keeps events for 30 days. A cursor older than that (or naming an
event Stripe no longer has) cannot be trusted, so the caller falls back to
a full listing and says why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import stripe

from .fields import PLAIN_FIELDS
from .pagination import list_all

if TYPE_CHECKING:
    from stripe.params import EventListParams

CUSTOMER_EVENT_TYPES = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
)
RETENTION_SECONDS = 30 * 24 * 3600
# The customer attributes a record is made of (fields.customer_fields). A `customer.updated` whose
# `previous_attributes` (Stripe names only the changed keys) touches none of them - a balance, the default
# payment method, invoice settings, delinquency - changes no record field, so its customer is not fetched.
RECORD_ATTRIBUTES = frozenset({*PLAIN_FIELDS, "address", "metadata"})

EVENTS_UNAVAILABLE = (
    "the key cannot read events (no Events permission, or no Events API): every run lists all customers; "
    "grant the key Events read to read only what changed"
)


class CursorExpired(Exception):
    """The events cursor can no longer be followed; the message is the note for the full listing."""


@dataclass(frozen=True)
class EventsCursor:
    """The newest event seen (id and creation time); `event` is None for an account without events."""

    event: str | None
    created: int

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "created": self.created}

    @classmethod
    def parse(cls, value: Any) -> EventsCursor:
        """A cursor from the state DB; an unreadable one means a full listing."""
        if isinstance(value, dict) and isinstance(value.get("created"), int):
            event = value.get("event")
            if event is None or (isinstance(event, str) and event.startswith("evt_")):
                return cls(event=event, created=value["created"])
        raise CursorExpired("events cursor unreadable: full listing")


@dataclass
class Changes:
    """Customers named by events since the cursor, in order, which of them were deleted, and when each changed.

    A customer object has no modification time; the `created` of the newest
    event naming it is the only record of when it last changed.
    """

    ids: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    cursor: EventsCursor | None = None
    changed_at: dict[str, int] = field(default_factory=dict)

    def add(self, event: dict[str, Any]) -> None:
        obj = (event.get("data") or {}).get("object") or {}
        kind = str(event.get("type"))
        customer = obj.get("customer") if kind.startswith("customer.subscription.") else obj.get("id")
        if isinstance(customer, dict):
            customer = customer.get("id")
        if not customer or not _touches_the_record(kind, event):
            return
        if customer not in self.ids:
            self.ids.append(str(customer))
        if isinstance(event.get("created"), int):
            self.changed_at[str(customer)] = max(self.changed_at.get(str(customer), 0), event["created"])
        if kind == "customer.deleted":
            self.deleted.add(str(customer))


def _touches_the_record(kind: str, event: dict[str, Any]) -> bool:
    """False only for a customer update that provably changed none of the record's attributes."""
    if kind != "customer.updated":
        return True
    previous = (event.get("data") or {}).get("previous_attributes")
    return not isinstance(previous, dict) or not previous or bool(RECORD_ATTRIBUTES & set(previous))


def events_unavailable(error: stripe.StripeError) -> bool:
    """A restricted key without Events read (403), or a Stripe-compatible server without the API (404)."""
    if isinstance(error, stripe.PermissionError):
        return True
    return isinstance(error, stripe.InvalidRequestError) and error.http_status == 404 and error.code is None


async def latest_cursor(client: stripe.StripeClient) -> EventsCursor | None:
    """Where the next incremental read starts: the newest customer event now; None when events cannot be read."""
    try:
        page = await client.v1.events.list_async({"limit": 1, "types": list(CUSTOMER_EVENT_TYPES)})
    except stripe.StripeError as error:
        if events_unavailable(error):
            return None
        raise
    if page.data:
        newest = page.data[0]
        return EventsCursor(event=newest.id, created=int(newest.created))
    return EventsCursor(event=None, created=int(time.time()))


async def changes_since(client: stripe.StripeClient, cursor: EventsCursor, now: float | None = None) -> Changes:
    """Every customer change after the cursor, oldest first; CursorExpired when it is too old."""
    if (now if now is not None else time.time()) - cursor.created > RETENTION_SECONDS:
        raise CursorExpired("events cursor older than 30 days: full listing")
    try:
        events = await _events_after(client, cursor)
    except stripe.StripeError as error:
        if events_unavailable(error):
            raise CursorExpired(EVENTS_UNAVAILABLE) from None
        raise
    changes = Changes(cursor=cursor)
    for event in events:
        changes.add(event)
    if events:
        newest = events[-1]
        changes.cursor = EventsCursor(event=str(newest["id"]), created=int(newest["created"]))
    return changes


async def _events_after(client: stripe.StripeClient, cursor: EventsCursor) -> list[dict[str, Any]]:
    """Events after the cursor, oldest first (Stripe lists newest first)."""
    params: dict[str, Any] = {"limit": 100, "types": list(CUSTOMER_EVENT_TYPES)}
    if cursor.event is None:
        params["created"] = {"gte": cursor.created}
        return list(reversed(await list_all(client.v1.events.list_async, params)))
    events: list[dict[str, Any]] = []
    before = cursor.event
    while True:
        try:
            page = await client.v1.events.list_async(cast("EventListParams", {**params, "ending_before": before}))
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                note = f"events cursor {cursor.event} is gone (Stripe keeps 30 days): full listing"
                raise CursorExpired(note) from None
            raise
        data = [event.to_dict() for event in page.data]
        events.extend(reversed(data))
        if not page.has_more or not data:
            return events
        before = str(data[0]["id"])  # pages run newest first; the next page is newer still
