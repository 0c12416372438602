"""A local People API v1: `pairsync sandbox google_contacts`.

Stateful and speaking Google's wire format (paths, field masks, page and
sync tokens, etags, error envelope, OAuth refresh grant). The outside-edit
helpers take the connector's flat field names, so tests and the demo
describe contacts the way the engine sees them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import JSONResponse

from connectors.google_contacts import people
from connectors.google_contacts.sandbox.app import TOKEN_PATH, OAuth, State, build_app
from connectors.google_contacts.sandbox.authorize import AUTHORIZE_PATH, authorization_server
from connectors.google_contacts.sandbox.errors import error_response
from connectors.google_contacts.sandbox.group_routes import add_group
from connectors.google_contacts.sandbox.store import Store
from connectors.google_contacts.sandbox.tokens import Tokens
from engine.connector import Sandbox
from engine.oauth.server import AuthorizationMiddleware

FIRST = ("Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "Tim", "Radia")
LAST = ("Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Berners-Lee", "Perlman")
ALL_FIELDS = set(people.PERSON_FIELDS)


class GoogleContactsSandbox(Sandbox):
    connector_name = "google_contacts"

    def __init__(
        self,
        seed: int = 0,
        rng_seed: int = 0,
        client_id: str = "sandbox-client.apps.googleusercontent.com",
        client_secret: str = "sandbox-client-secret",
        refresh_token: str = "1//sandbox-refresh-token",
    ) -> None:
        self.state = State(Store(), Tokens(), OAuth(client_id, client_secret, refresh_token))
        self.authorization = authorization_server(self.state.oauth)  # knob: `.deny = True`
        self._rng = random.Random(rng_seed)
        super().__init__(seed=seed, rng_seed=rng_seed)

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def oauth(self) -> OAuth:
        return self.state.oauth

    def app(self) -> Any:
        return AuthorizationMiddleware(build_app(self.state), self.authorization)

    def quota(self, method: str, path: str) -> str:
        """Google meters reads and writes per user separately: a contact write never waits on a listing.
        The sandbox's token endpoint counts with the reads."""
        return "read" if method == "GET" or path == TOKEN_PATH else "write"

    @property
    def fail_emails(self) -> set[str]:
        """Knob: API writes (single or batch) carrying one of these addresses are refused with a 400.

        A batch holding one is refused as a whole, naming it in its error details, as
        Google does; outside edits (`add_record`, `update_record`) are not affected.
        """
        return self.store.fail_emails

    @fail_emails.setter
    def fail_emails(self, emails: set[str]) -> None:
        self.store.fail_emails = set(emails)

    def settings(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "authorization_url": f"{base_url}{AUTHORIZE_PATH}",
            "token_url": f"{base_url}/token",
            "client_id": self.oauth.client_id,
            "client_secret": self.oauth.client_secret,
            "refresh_token": self.oauth.refresh_token,
            # no per-minute quota here beyond the knobs; keep the demo quick
            "read_requests_per_minute": 6000,
            "write_requests_per_minute": 6000,
        }

    def seed(self, count: int) -> None:
        for _ in range(count):
            first, last = self._rng.choice(FIRST), self._rng.choice(LAST)
            number = self._rng.randrange(10**6)
            self.add_record({
                "givenName": first,
                "familyName": last,
                "email": f"{first}.{last}.{number}@example.com".lower(),
                "emailType": "work",
                "phone": f"+1202555{number % 10000:04d}",
                "company": self._rng.choice(("Analytical Engines", "Bletchley Park", "NASA", "CERN")),
            })

    # outside edits, in the connector's flat field names

    def add_record(self, fields: Mapping[str, Any]) -> str:
        person, _ = people.apply_changes({}, fields, "US")
        return self.store.create(person).resource

    def update_record(self, record_id: str, fields: Mapping[str, Any]) -> None:
        with self.store.lock:
            current = self.store.render(self.store.live(record_id), ALL_FIELDS)
            person, groups = people.apply_changes(current, fields, "US")
            self.store.update(record_id, people.write_body(person, groups), groups, None)

    def delete_record(self, record_id: str) -> None:
        self.store.delete(record_id)

    def records(self) -> list[dict[str, Any]]:
        with self.store.lock:
            live = [c for c in self.store.contacts.values() if not c.deleted]
            return [{"id": c.resource, **people.to_fields(self.store.render(c, ALL_FIELDS))} for c in live]

    def error_response(self, status: int, retry_after: float | None = None) -> JSONResponse:
        return error_response(status, retry_after)

    # Google-side events the tests and demo can trigger

    def rename_record(self, record_id: str) -> str:
        """Give a contact a new resource name (Google does on merges); returns the new one."""
        return self.store.rename(record_id)

    def expire_sync_tokens(self) -> int:
        """Expire every sync token issued so far; the next incremental read gets EXPIRED_SYNC_TOKEN."""
        return self.state.tokens.expire_all()

    def before_next_write(self, edit: Callable[[], object]) -> None:
        """Run `edit` just before the next mutation request is handled: a concurrent edit, made on purpose.

        E.g. `sandbox.before_next_write(lambda: sandbox.update_record(id, {...}))` makes the
        connector's next write meet an etag it has not read.
        """
        self.state.before_next_mutation.append(lambda: _ignore(edit()))

    def create_group(self, name: str) -> str:
        """Create a label as the user would in the Contacts app."""
        return add_group(self.store, name).resource

    def tags_of(self, record_id: str) -> set[str]:
        """Names of the user labels of a contact."""
        with self.store.lock:
            contact = self.store.live(record_id)
            return {g.name for r, g in self.store.groups.items()
                    if r in contact.groups and g.group_type == "USER_CONTACT_GROUP"}


__all__ = ["GoogleContactsSandbox"]


def _ignore(_result: object) -> None:
    """Drop a helper's return value (edits return ids) so it fits a `-> None` hook."""
