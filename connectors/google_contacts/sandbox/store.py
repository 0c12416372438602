"""The sandbox's data: contacts and contact groups, each change stamped with a sequence number.

Contacts keep only their writable data; `render` adds what Google computes
(display names, canonical phone forms, field metadata, memberships, etag,
source update times). Deleted contacts stay as tombstones so sync tokens can
report them.
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from connectors.google_contacts.sandbox.errors import ApiError, etag_mismatch

Json = dict[str, Any]
# The Person fields a contact source holds and `updatePersonFields` may name (the People API reference);
# memberships are kept apart, as the contact's groups.
WRITABLE = ("addresses", "biographies", "birthdays", "calendarUrls", "clientData", "emailAddresses", "events",
            "externalIds", "genders", "imClients", "interests", "locales", "locations", "miscKeywords", "names",
            "nicknames", "occupations", "organizations", "phoneNumbers", "relations", "sipAddresses", "urls",
            "userDefined")
UPDATABLE = frozenset({*WRITABLE, "memberships"})
SINGLETONS = ("names", "biographies", "birthdays", "genders")  # at most one per contact source
# Output-only keys of field items: Google ignores them in requests and computes them in answers.
OUTPUT_ONLY = frozenset({"metadata", "formattedType", "canonicalForm", "formattedProtocol"})
OUTPUT_ONLY_NAMES = frozenset({"displayName", "displayNameLastFirst"})  # an email's displayName is writable
TYPED = frozenset({"addresses", "calendarUrls", "emailAddresses", "events", "externalIds", "imClients",
                   "organizations", "phoneNumbers", "relations", "sipAddresses", "urls"})
MY_CONTACTS = "contactGroups/myContacts"
SYSTEM_GROUPS = {"myContacts": "My Contacts", "starred": "Starred", "friends": "Friends", "family": "Family"}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Contact:
    resource: str
    data: Json
    groups: set[str] = field(default_factory=lambda: {MY_CONTACTS})
    seq: int = 0
    etag: str = ""
    updated: str = ""
    deleted: bool = False
    previous: list[str] = field(default_factory=list)

    @property
    def source_id(self) -> str:
        return self.resource.split("/c", 1)[-1]


@dataclass
class Group:
    resource: str
    name: str
    group_type: str = "USER_CONTACT_GROUP"
    etag: str = ""
    updated: str = field(default_factory=now)
    client_data: list[Json] = field(default_factory=list)
    version: int = 0
    deleted: bool = False


class Store:
    """Thread-safe: the server thread and the test (outside edits) share it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.contacts: dict[str, Contact] = {}
        self.fail_emails: set[str] = set()  # the sandbox knob: API writes carrying one of these are refused
        self.groups: dict[str, Group] = {
            f"contactGroups/{gid}": Group(f"contactGroups/{gid}", gid, "SYSTEM_CONTACT_GROUP")
            for gid in SYSTEM_GROUPS
        }
        self.seq = 0
        self._ids = itertools.count(1)

    def touch(self, contact: Contact) -> None:
        self.seq += 1
        contact.seq = self.seq
        contact.updated = now()
        contact.etag = "%" + base64.urlsafe_b64encode(f"{contact.resource}#{contact.seq}".encode()).decode()

    def new_resource(self, prefix: str) -> str:
        return f"{prefix}{7000000000000000000 + next(self._ids)}"

    def create(self, data: Json) -> Contact:
        with self.lock:
            contact = Contact(self.new_resource("people/c"), _clean(data))
            chosen = self.memberships(data)
            if chosen is not None:
                contact.groups = chosen
            self.contacts[contact.resource] = contact
            self.touch(contact)
            return contact

    def live(self, resource: str) -> Contact:
        contact = self.contacts.get(resource)
        if contact is None or contact.deleted:
            raise ApiError(404, "Requested entity was not found.")
        return contact

    def update(self, resource: str, data: Json, groups: set[str], etag: str | None) -> Contact:
        """Replace the masked Person fields; an etag that is not the current one is a conflict."""
        with self.lock:
            contact = self.live(resource)
            if etag is not None and etag != contact.etag:
                raise etag_mismatch()
            for group in groups - {"memberships"}:
                contact.data[group] = _clean(data).get(group, [])
            if "memberships" in groups:
                contact.groups = self.memberships(data) or set()
            self.touch(contact)
            return contact

    def memberships(self, data: Json) -> set[str] | None:
        """The contact groups a body's `memberships` name (None when it names none); unknown groups are refused."""
        items = data.get("memberships")
        if not items:
            return None
        chosen: set[str] = set()
        for index, item in enumerate(items):
            membership = item.get("contactGroupMembership") or {}
            name = membership.get("contactGroupResourceName") or (
                f"contactGroups/{membership['contactGroupId']}" if membership.get("contactGroupId") else None)
            group = self.groups.get(str(name))
            if group is None or group.deleted:
                raise ApiError(400, f"Invalid person.memberships[{index}]: contact group {name!r} does not exist.")
            chosen.add(group.resource)
        return chosen

    def delete(self, resource: str) -> None:
        with self.lock:
            contact = self.live(resource)
            contact.deleted = True
            contact.data = {}
            self.touch(contact)

    def rename(self, resource: str) -> str:
        """Give a contact a new resource name, as Google does when contacts are linked or merged."""
        with self.lock:
            contact = self.live(resource)
            del self.contacts[resource]
            contact.previous.append(resource)
            contact.resource = self.new_resource("people/c")
            self.contacts[contact.resource] = contact
            self.touch(contact)
            return contact.resource

    def set_membership(self, contact: Contact, group: str, member: bool) -> bool:
        """Add or remove one membership; True when that changed anything."""
        if (group in contact.groups) == member:
            return False
        if member:
            contact.groups.add(group)
        else:
            contact.groups.discard(group)
        self.touch(contact)
        return True

    def render(self, contact: Contact, fields: set[str]) -> Json:
        """The Person as the People API returns it, limited to the requested person fields."""
        person: Json = {"resourceName": contact.resource, "etag": contact.etag}
        source = {"type": "CONTACT", "id": contact.source_id}
        if "metadata" in fields or contact.deleted:
            metadata: Json = {"sources": [{**source, "etag": contact.etag, "updateTime": contact.updated}],
                              "objectType": "PERSON"}
            if contact.previous:
                metadata["previousResourceNames"] = list(contact.previous)
            if contact.deleted:
                metadata["deleted"] = True
            person["metadata"] = metadata
        if contact.deleted:
            return person
        for group in WRITABLE:
            items = contact.data.get(group) or []
            if group in fields and items:
                person[group] = [_decorate(group, dict(item), index == 0, source) for index, item in enumerate(items)]
        if "memberships" in fields:
            person["memberships"] = [_membership(g, source) for g in sorted(contact.groups)]
        return person


def _clean(data: Json) -> Json:
    """Only the writable Person fields, without output-only keys."""
    return {group: [_writable(group, item) for item in data.get(group) or []] for group in WRITABLE if group in data}


def _writable(group: str, item: Json) -> Json:
    dropped = OUTPUT_ONLY if group == "addresses" else OUTPUT_ONLY | {"formattedValue"}
    if group == "names":
        dropped = dropped | OUTPUT_ONLY_NAMES
    return {k: v for k, v in item.items() if k not in dropped}


def _decorate(group: str, item: Json, primary: bool, source: Json) -> Json:
    item["metadata"] = {"primary": True, "source": source} if primary else {"source": source}
    if item.get("type") and group in TYPED:
        item["formattedType"] = _formatted(str(item["type"]))
    if group == "imClients" and item.get("protocol"):
        item["formattedProtocol"] = _formatted(str(item["protocol"]))
    if group == "genders" and item.get("value"):
        item["formattedValue"] = _formatted(str(item["value"]))
    if group == "biographies":
        item.setdefault("contentType", "TEXT_PLAIN")
    if group == "addresses" and not item.get("formattedValue"):
        locality = " ".join(str(item[k]) for k in ("city", "region", "postalCode") if item.get(k))
        lines = [item.get("poBox"), item.get("streetAddress"), item.get("extendedAddress"), locality,
                 item.get("country")]
        item["formattedValue"] = "\n".join(str(line) for line in lines if line)
    if group == "names":
        parts = [item.get(p) for p in ("givenName", "middleName", "familyName") if item.get(p)]
        display = item.get("unstructuredName") or " ".join(str(p) for p in parts)
        item["displayName"] = display
        last_first = ", ".join(p for p in (item.get("familyName"), item.get("givenName")) if p)
        item["displayNameLastFirst"] = last_first or display
    if group == "phoneNumbers":
        try:
            number = phonenumbers.parse(str(item.get("value", "")), "US")
            item["canonicalForm"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass
    return item


def _formatted(value: str) -> str:
    """A type or protocol as Google formats it in English: "homePage" -> "Home Page", "work" -> "Work"."""
    if value.isupper() or value.islower():
        return value.capitalize()
    spaced = "".join(f" {c}" if c.isupper() else c for c in value).strip()
    return spaced[:1].upper() + spaced[1:]


def _membership(group: str, source: Json) -> Json:
    return {
        "metadata": {"source": source},
        "contactGroupMembership": {"contactGroupId": group.split("/", 1)[1], "contactGroupResourceName": group},
    }
