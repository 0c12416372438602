"""Mailchimp list-member JSON <-> pairsync's flat fields.

A member is keyed by its subscriber hash, the MD5 of its lower-cased email
address. The audience's default merge fields are plain fields (`FNAME`,
`LNAME`, `PHONE`, and the address parts `ADDRESS.addr1` ... `ADDRESS.country`);
any other merge field is `merge_fields.<TAG>`. `status` is read-only: a write
never changes a member's subscription (see `writes.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.connector import FieldSchema, FieldSpec

Json = dict[str, Any]

MERGE = "merge_fields."
PLAIN_MERGE_TAGS = ("FNAME", "LNAME", "PHONE")
ADDRESS = "ADDRESS"
ADDRESS_PARTS = ("addr1", "addr2", "city", "state", "zip", "country")
ADDRESS_REQUIRED = ("addr1", "city", "state", "zip")
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
UNSUBSCRIBED = "unsubscribed"
GONE = "archived"
WRITABLE_TOP = ("email_type", "language", "vip")
READ_ONLY_TOP = ("status", "last_changed", "unsubscribe_reason", "member_rating", "timestamp_signup", "timestamp_opt",
                 "contact_id", "unique_email_id", "full_name")

SCHEMA = FieldSchema(
    fields=[
        FieldSpec("email", description="email_address; the member's id is the MD5 of it in lower case"),
        FieldSpec("FNAME", description="first name merge field"),
        FieldSpec("LNAME", description="last name merge field"),
        FieldSpec("PHONE", description="phone merge field"),
        *(FieldSpec(f"{ADDRESS}.{part}", description="address merge field part") for part in ADDRESS_PARTS),
        FieldSpec("email_type", description="html or text"),
        FieldSpec("language"),
        FieldSpec("vip", type="boolean"),
        FieldSpec("status", read_only=True,
                  description="subscribed, unsubscribed, cleaned, pending, transactional or archived"),
        FieldSpec("last_changed", type="datetime", read_only=True),
        FieldSpec("unsubscribe_reason", read_only=True),
        FieldSpec("member_rating", type="number", read_only=True),
        FieldSpec("timestamp_signup", type="datetime", read_only=True),
        FieldSpec("timestamp_opt", type="datetime", read_only=True),
        FieldSpec("contact_id", read_only=True),
        FieldSpec("unique_email_id", read_only=True),
        FieldSpec("full_name", read_only=True, description="computed by Mailchimp from FNAME and LNAME"),
    ],
    custom_prefixes=(MERGE,),
)


class FieldError(ValueError):
    """A flat field value this connector cannot send; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 hex digest of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from Mailchimp (`2015-10-21T15:41:36+00:00`), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def to_fields(member: Json) -> Json:
    """Flat fields of a member; empty merge fields are left out, as Google's absent values are."""
    fields: Json = {"email": member.get("email_address")}
    for key in (*WRITABLE_TOP, *READ_ONLY_TOP):
        value = member.get(key)
        if value not in (None, ""):
            fields[key] = value
    for tag, value in (member.get("merge_fields") or {}).items():
        if tag == ADDRESS:
            fields.update(_address_fields(value))
        elif value not in (None, ""):
            fields[tag if tag in PLAIN_MERGE_TAGS else MERGE + tag] = value
    return fields


def _address_fields(value: Any) -> Json:
    if isinstance(value, Mapping):
        return {f"{ADDRESS}.{part}": value[part] for part in ADDRESS_PARTS if value.get(part)}
    if isinstance(value, str) and value.strip():
        return {f"{ADDRESS}.addr1": value.strip()}  # an address kept as one line of text
    return {}


def tags_of(member: Json) -> frozenset[str]:
    return frozenset(str(t["name"]) for t in member.get("tags") or [] if isinstance(t, Mapping) and t.get("name"))


def merge_tag(name: str) -> str | None:
    """The merge tag a flat field writes (`FNAME`, `ADDRESS`, `PLAN`), or None for a top-level field."""
    if name in PLAIN_MERGE_TAGS:
        return name
    if name.startswith(f"{ADDRESS}.") and name.split(".", 1)[1] in ADDRESS_PARTS:
        return ADDRESS
    if name.startswith(MERGE) and len(name) > len(MERGE):
        return name[len(MERGE):]
    return None


def write_body(changes: Mapping[str, Any], current: Json | None) -> Json:
    """The member body for a sparse change: `email_address`, changed top-level keys and merge fields.

    An address is one merge field at Mailchimp, so a change to one part is merged into the
    current address; a complete address needs addr1, city, state and zip. `None` clears a value.
    """
    body: Json = {}
    merges: Json = {}
    address: Json | None = None
    for name, value in changes.items():
        if name == "email":
            if not isinstance(value, str) or not value.strip():
                raise FieldError("email", "a member needs an email address")
            body["email_address"] = value.strip()
            continue
        tag = merge_tag(name)
        if tag == ADDRESS:
            if address is None:
                address = _current_address(current)
            address[name.split(".", 1)[1]] = "" if value is None else str(value)
        elif tag is not None:
            merges[tag] = _merge_value(name, value)
        elif name in WRITABLE_TOP:
            body[name] = _top_value(name, value)
        elif SCHEMA.spec(name) is not None:
            raise FieldError(name, "is read-only in Mailchimp")
        else:
            raise FieldError(name, "is not a Mailchimp member field")
    if address is not None:
        merges[ADDRESS] = _complete_address(address)
    if merges:
        body["merge_fields"] = merges
    return body


def _merge_value(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    raise FieldError(name, f"must be text or a number, got {type(value).__name__}")


def _top_value(name: str, value: Any) -> Any:
    if name == "vip":
        if not isinstance(value, bool):
            raise FieldError(name, "must be true or false")
        return value
    if name == "email_type" and value not in ("html", "text"):
        raise FieldError(name, "must be html or text")
    if not isinstance(value, str):
        raise FieldError(name, "must be text")
    return value


def _current_address(current: Json | None) -> Json:
    value = ((current or {}).get("merge_fields") or {}).get(ADDRESS)
    if isinstance(value, Mapping):
        return {part: str(value.get(part) or "") for part in ADDRESS_PARTS}
    return dict.fromkeys(ADDRESS_PARTS, "")


def _complete_address(address: Json) -> Json | str:
    """The address to send: all parts, or "" to clear it; a partial one is refused before sending."""
    if not any(address.values()):
        return ""
    missing = [part for part in ADDRESS_REQUIRED if not address.get(part)]
    if missing:
        raise FieldError(f"{ADDRESS}.{missing[0]}", "Mailchimp keeps an address only with addr1, city, state and zip")
    return {part: address.get(part, "") for part in ADDRESS_PARTS}
