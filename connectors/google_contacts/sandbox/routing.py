"""Routes written as the discovery document's `flatPath`s, and the request a handler sees."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.google_contacts.sandbox.errors import ApiError
from connectors.google_contacts.sandbox.store import Store
from connectors.google_contacts.sandbox.tokens import Query, Tokens

Json = dict[str, Any]
_PERSON_FIELDS = """addresses ageRanges biographies birthdays calendarUrls clientData coverPhotos emailAddresses
events externalIds genders imClients interests locales locations memberships metadata miscKeywords names nicknames
occupations organizations phoneNumbers photos relations sipAddresses skills urls userDefined"""
PERSON_FIELD_NAMES = frozenset(_PERSON_FIELDS.split())


@dataclass
class Call:
    """One API request as a handler sees it."""

    store: Store
    tokens: Tokens
    query: Query
    body: Any
    path: dict[str, str] = field(default_factory=dict)

    def one(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def person_fields(self, name: str = "personFields", required: bool = True) -> set[str]:
        """A field mask of person fields; unknown names are INVALID_ARGUMENT, as at Google."""
        raw = self.one(name) or ""
        fields = {f.strip() for f in raw.split(",") if f.strip()}
        if not fields and required:
            raise ApiError(400, f"{name} mask is required. Please specify one or more valid paths.")
        unknown = sorted(fields - PERSON_FIELD_NAMES)
        if unknown:
            raise ApiError(400, f"Invalid {name} mask path: \"{unknown[0]}\".")
        return fields or set(PERSON_FIELD_NAMES)

    def json_body(self) -> Json:
        if not isinstance(self.body, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected an object.")
        return self.body


Handler = Callable[[Call], Awaitable[Json]]


@dataclass(frozen=True)
class Route:
    method: str
    flat_path: str  # as in the discovery document, e.g. v1/people/{peopleId}:updateContact
    handler: Handler
    mutation: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"\{(\w+)\}", self.flat_path)
        regex = "".join(f"(?P<{part}>[^/:]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts))
        return re.compile(f"^/{regex}$")


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for a request, or the 404/405 Google would send."""
    allowed = False
    for route in routes:
        found = route.pattern.match(path)
        if found:
            if route.method == method:
                return route, found.groupdict()
            allowed = True
    if allowed:
        raise ApiError(405, f"Method {method} is not allowed here.", status="INVALID_ARGUMENT")
    raise ApiError(404, f"The requested URL {path} was not found on this server.")
