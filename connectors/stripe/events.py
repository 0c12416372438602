"""Incremental reads from the Events API: the cursor is the newest event seen.

Stripe keeps events for 30 days. A cursor older than that (or naming an
event Stripe no longer has) cannot be trusted, so the caller falls back to
a full listing and says why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import stripe

from .fields import PLAIN_FIELDS
from .pagination import list_all, raw_lister

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
# A customers-only connection (no derived fields) has no use for subscription events: fewer pages to read.
CUSTOMER_ONLY_EVENT_TYPES = CUSTOMER_EVENT_TYPES[:3]
RETENTION_SECONDS = 30 * 24 * 3600
# The customer attributes a record is made of (fields.customer_fields). A `customer.updated` whose
# `previous_attributes` (Stripe names only the changed keys) touches none of them - a balance, the default
# payment method, invoice settings, delinquency - changes no record field, so its customer is not fetched.
RECORD_ATTRIBUTES = frozenset({*PLAIN_FIELDS, "address", "metadata"})

# The Idempotency-Key prefix of pairsync's own customer updates. The run that wrote kept the customer the
# update answered, so the next run need not read it back from the event (which may need a subscription read).
OWN_UPDATE_PREFIX = "pairsync-update-"

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
    """What the events since the cursor say about each customer they name.

    `ids`: the customers to report, in order of first mention; `deleted`: those
    a `customer.deleted` names (terminal: a deleted customer never comes back,
    so ties in time cannot undo it); `objects`: the customer as the newest
    `customer.created`/`customer.updated` carries it (the whole object, as a
    read would return it); `subscriptions`: each subscription's newest state
    from `customer.subscription.*`; `born`: customers whose creation is in the
    window, so every subscription they have is in `subscriptions` too.
    A customer object has no modification time; `changed_at` is the `created`
    of the newest event naming it, the only record of when it last changed.
    """

    ids: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    cursor: EventsCursor | None = None
    changed_at: dict[str, int] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    born: set[str] = field(default_factory=set)
    read_subscriptions: bool = True

    def add(self, event: dict[str, Any]) -> None:
        """Fold one event in; events must come oldest first (see `in_order`), so later ones win."""
        obj = (event.get("data") or {}).get("object") or {}
        kind = str(event.get("type"))
        subscription = kind.startswith("customer.subscription.")
        customer = obj.get("customer") if subscription else obj.get("id")
        if isinstance(customer, dict):
            customer = customer.get("id")
        if not customer:
            return
        customer = str(customer)
        self._keep(kind, customer, obj)
        if subscription and not self.read_subscriptions:
            return  # a customers-only record has no field a subscription changes
        if not _touches_the_record(kind, event) or own_update(event):
            return
        if customer not in self.ids:
            self.ids.append(customer)
        if isinstance(event.get("created"), int):
            self.changed_at[customer] = max(self.changed_at.get(customer, 0), event["created"])

    def _keep(self, kind: str, customer: str, obj: dict[str, Any]) -> None:
        if kind == "customer.deleted":
            self.deleted.add(customer)
        elif kind in ("customer.created", "customer.updated"):
            self.objects[customer] = obj
            if kind == "customer.created":
                self.born.add(customer)
        elif obj.get("id"):
            self.subscriptions.setdefault(customer, {})[str(obj["id"])] = obj


def in_order(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events oldest first by `created`, as their changes happened.

    Stripe does not promise its list is in creation order. `events` comes in
    list order reversed (the bottom of Stripe's newest-first list first), and
    the sort is stable: events created in the same second keep their list
    order, so of two tied events the one Stripe lists nearer the top (newer)
    is folded in last and wins.
    """
    return sorted(events, key=lambda event: int(event.get("created") or 0))


def own_update(event: dict[str, Any]) -> bool:
    """An update pairsync sent itself (its Idempotency-Key says so): the engine kept what it answered."""
    key = (event.get("request") or {}).get("idempotency_key")
    return event.get("type") == "customer.updated" and isinstance(key, str) and key.startswith(OWN_UPDATE_PREFIX)


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


async def changes_since(
    client: stripe.StripeClient, cursor: EventsCursor, now: float | None = None, read_subscriptions: bool = True
) -> Changes:
    """Every customer change after the cursor, oldest first; CursorExpired when it is too old."""
    if (now if now is not None else time.time()) - cursor.created > RETENTION_SECONDS:
        raise CursorExpired("events cursor older than 30 days: full listing")
    try:
        types = CUSTOMER_EVENT_TYPES if read_subscriptions else CUSTOMER_ONLY_EVENT_TYPES
        events = await _events_after(client, cursor, types)
    except stripe.StripeError as error:
        if events_unavailable(error):
            raise CursorExpired(EVENTS_UNAVAILABLE) from None
        raise
    changes = Changes(cursor=cursor, read_subscriptions=read_subscriptions)
    for event in in_order(events):
        changes.add(event)
    if events:
        # The next read starts after the event at the top of Stripe's list (`ending_before` follows list
        # order, not time), so no event listed above it now is skipped whatever its `created`.
        newest = events[-1]
        changes.cursor = EventsCursor(event=str(newest["id"]), created=int(newest["created"]))
    return changes


async def _events_after(
    client: stripe.StripeClient, cursor: EventsCursor, types: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Events after the cursor, in Stripe's list order reversed (Stripe lists newest first)."""
    params: dict[str, Any] = {"limit": 100, "types": list(types)}
    method = raw_lister(client, "/v1/events")  # plain dicts: no SDK object per nested customer field
    if cursor.event is None:
        params["created"] = {"gte": cursor.created}
        return list(reversed(await list_all(method, params)))
    events: list[dict[str, Any]] = []
    before = cursor.event
    while True:
        try:
            page = await method({**params, "ending_before": before})
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
