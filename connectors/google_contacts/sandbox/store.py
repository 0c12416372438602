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
WRITABLE = ("names", "emailAddresses", "phoneNumbers", "organizations", "userDefined", "clientData")
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
            for group in groups:
                contact.data[group] = _clean(data).get(group, [])
            self.touch(contact)
            return contact

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
    return {group: [dict(item) for item in data.get(group) or []] for group in WRITABLE if group in data}


def _decorate(group: str, item: Json, primary: bool, source: Json) -> Json:
    item["metadata"] = {"primary": True, "source": source} if primary else {"source": source}
    if item.get("type") and group in ("emailAddresses", "phoneNumbers", "organizations"):
        item["formattedType"] = str(item["type"]).capitalize()
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


def _membership(group: str, source: Json) -> Json:
    return {
        "metadata": {"source": source},
        "contactGroupMembership": {"contactGroupId": group.split("/", 1)[1], "contactGroupResourceName": group},
    }
