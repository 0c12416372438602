"""A local Mailchimp Marketing API v3: `pairsync sandbox mailchimp`.

Stateful and speaking Mailchimp's wire format: `/3.0/...` paths, HTTP basic
or bearer auth with the key, problem+json errors with Mailchimp's titles,
count/offset pages with `total_items`, `since_last_changed`, batch subscribe
with per-member errors, `/batches` with its state machine and result archive,
member tags, webhooks (registered with the GET check, delivered
form-encoded), and 429 beyond ten connections in flight. The outside-edit
helpers take the connector's flat field names.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from connectors.mailchimp import members
from connectors.mailchimp.sandbox.app import State, build_app
from connectors.mailchimp.sandbox.delivery import Delivered, Hooks
from connectors.mailchimp.sandbox.errors import error_response
from connectors.mailchimp.sandbox.render import member_json
from connectors.mailchimp.sandbox.store import Store
from engine.connector import Sandbox

FIRST = ("Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "Tim", "Radia")
LAST = ("Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Berners-Lee", "Perlman")
ADMIN = "admin"


class MailchimpSandbox(Sandbox):
    connector_name = "mailchimp"

    def __init__(self, seed: int = 0, rng_seed: int = 0, api_key: str = "sandboxkeynotarealmailchimpkey00-us0",
                 list_id: str = "a1b2c3d4e5", merge_tags: Mapping[str, str] | None = None) -> None:
        store = Store(list_id, {"PLAN": "text", "STAGE": "text", **dict(merge_tags or {})})
        hooks = Hooks(list_id)
        store.listeners.append(hooks.announce)
        self.state = State(store, hooks, api_key)
        self._rng = random.Random(rng_seed)
        super().__init__(seed=seed, rng_seed=rng_seed)

    @property
    def store(self) -> Store:
        return self.state.store

    def app(self) -> Any:
        return build_app(self.state)

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "api_key": self.state.api_key, "list_id": self.store.list_id,
                "requests_per_second": 1000, "batch_poll_seconds": 0}

    def seed(self, count: int) -> None:
        for _ in range(count):
            first, last = self._rng.choice(FIRST), self._rng.choice(LAST)
            number = self._rng.randrange(10**6)
            while members.subscriber_hash(f"{first}.{last}.{number}@example.com") in self.store.members:
                number += 1  # seeded addresses are unique, however many are asked for
            self.add_record({"FNAME": first, "LNAME": last, "email": f"{first}.{last}.{number}@example.com".lower(),
                             "PHONE": f"+1202555{number % 10000:04d}"})

    # outside edits, in the connector's flat field names (source `admin`, as in Mailchimp's web app)

    def add_record(self, fields: Mapping[str, Any]) -> str:
        changes = dict(fields)
        status = str(changes.pop("status", "subscribed"))
        body = members.write_body(changes, None)
        return self.store.add(body, status, ADMIN).id

    def update_record(self, record_id: str, fields: Mapping[str, Any]) -> None:
        with self.store.lock:
            current = member_json(self.store, self.store.find(record_id, archived=False))
            self.store.update(record_id, members.write_body(fields, current), ADMIN)

    def delete_record(self, record_id: str) -> None:
        """Archive, as Mailchimp's web app does when a contact is removed."""
        self.store.archive(record_id, ADMIN)

    def forget_record(self, record_id: str) -> None:
        """Permanent deletion: the address can never be added again."""
        self.store.forget(record_id, ADMIN)

    def unsubscribe(self, record_id: str, reason: str = "N/A (Unsubscribed by the contact)") -> None:
        """The person clicks the unsubscribe link in a campaign (source `user`)."""
        self.store.unsubscribe(record_id, reason, "user")

    def bounce(self, record_id: str) -> None:
        """The address bounces hard and Mailchimp cleans it (source `admin`)."""
        self.store.clean(record_id, ADMIN)

    def backdate(self, seconds: float) -> None:
        """Move every member's `last_changed` back in time, as if the audience had been quiet that long."""
        with self.store.lock:
            for member in self.store.members.values():
                shifted = datetime.fromisoformat(member.last_changed) - timedelta(seconds=seconds)
                member.last_changed = shifted.isoformat()

    def records(self) -> list[dict[str, Any]]:
        with self.store.lock:
            live = [m for m in self.store.members.values() if not m.archived]
            return [{"id": m.id, **members.to_fields(member_json(self.store, m))} for m in live]

    def tags_of(self, record_id: str) -> set[str]:
        with self.store.lock:
            return set(self.store.find(record_id).tags)

    def status_of(self, record_id: str) -> str:
        with self.store.lock:
            return self.store.find(record_id).shown_status

    def error_response(self, status: int, retry_after: float | None = None) -> Response:
        return error_response(status, retry_after)

    # knobs

    @property
    def hold(self) -> threading.Event | None:
        """Knob: while set to an unset Event, every API request stays in flight (fills the connections)."""
        return self.state.hold

    @hold.setter
    def hold(self, event: threading.Event | None) -> None:
        self.state.hold = event

    def deliveries(self) -> list[Delivered]:
        """Every webhook delivery made so far, after waiting for those under way."""
        return self.state.hooks.wait()


__all__ = ["MailchimpSandbox"]
