"""QuickBooks Customer JSON <-> the flat fields the engine sees.

Nested objects become dotted names (`BillAddr.City`); `Notes` is shown
without the reserved tag line (see tags.py); `Active = false` is the
deletion signal because QuickBooks cannot delete a customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.quickbooks import tags
from engine.connector import FieldSchema, FieldSpec
from engine.records import Record

STRING_FIELDS = (
    "GivenName",
    "MiddleName",
    "FamilyName",
    "DisplayName",
    "CompanyName",
    "PrimaryEmailAddr.Address",
    "PrimaryPhone.FreeFormNumber",
    "BillAddr.Line1",
    "BillAddr.Line2",
    "BillAddr.City",
    "BillAddr.CountrySubDivisionCode",
    "BillAddr.PostalCode",
    "BillAddr.Country",
    "Notes",
)
READ_ONLY = ("MetaData.CreateTime", "MetaData.LastUpdatedTime")
EMAIL = "PrimaryEmailAddr.Address"
ORIGIN = "PairsyncOrigin"

SCHEMA = FieldSchema(
    fields=[
        *(FieldSpec(name) for name in STRING_FIELDS),
        FieldSpec("Active", type="boolean", description="false means the customer was made inactive (deleted)"),
        *(FieldSpec(name, type="datetime", read_only=True) for name in READ_ONLY),
        FieldSpec(ORIGIN, description="pairsync's origin stamp, kept on a reserved line of Notes"),
    ]
)


def lookup(customer: Mapping[str, Any], name: str) -> Any:
    """The value at a dotted path, or None."""
    value: Any = customer
    for part in name.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def flatten(customer: Mapping[str, Any]) -> dict[str, Any]:
    """Flat fields of a Customer object; absent and empty values are left out."""
    flat: dict[str, Any] = {}
    for name in (*STRING_FIELDS, *READ_ONLY):
        value = lookup(customer, name)
        if name == "Notes":
            value = tags.split(value)[0]
        if value not in (None, ""):
            flat[name] = value
    stamp = tags.origin(customer.get("Notes"))
    if stamp:
        flat[ORIGIN] = stamp
    flat["Active"] = customer.get("Active", True) is not False
    return flat


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def to_record(customer: Mapping[str, Any]) -> Record:
    """A Record from a Customer object, including CDC's `status: Deleted` stubs."""
    deleted = customer.get("status") == "Deleted" or customer.get("Active") is False
    fields = {} if customer.get("status") == "Deleted" else flatten(customer)
    return Record(
        id=str(customer["Id"]),
        fields=fields,
        updated=parse_time(lookup(customer, "MetaData.LastUpdatedTime")),
        deleted=deleted,
        tags=tags.split(customer.get("Notes"))[1],
    )


def check(fields: Mapping[str, Any]) -> str | None:
    """Why these fields cannot be written (naming the field), or None when they can."""
    for name, value in fields.items():
        spec = SCHEMA.spec(name)
        if spec is None:
            return f"field {name} is not a QuickBooks customer field"
        if spec.read_only:
            return f"field {name} is read-only in QuickBooks"
        if name == "Active":
            if not isinstance(value, bool):
                return f"field Active must be true or false, got {value!r}"
        elif value is not None and not isinstance(value, str):
            return f"field {name} must be text, got {type(value).__name__}"
    return None


def to_payload(fields: Mapping[str, Any], current_notes: str | None = None) -> dict[str, Any]:
    """Nested Customer JSON for the given flat fields; None clears a field (sent as empty text).

    `Notes` keeps the record's reserved lines (origin stamp, tags) so writing notes never drops them,
    and the origin stamp is written into that reserved line.
    """
    payload: dict[str, Any] = {}
    notes, current_tags, stamp = tags.parse(current_notes)
    if "Notes" in fields or ORIGIN in fields:
        notes = fields.get("Notes", notes)
        stamp = fields.get(ORIGIN, stamp)
        payload["Notes"] = tags.join(notes, current_tags, stamp)
    for name, value in fields.items():
        if name in ("Notes", ORIGIN):
            continue
        if value is None and name != "Active":
            value = ""
        *parents, leaf = name.split(".")
        target = payload
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return payload


def default_display_name(fields: Mapping[str, Any]) -> str | None:
    """The DisplayName to send when a create names none: the person's name, else company, else email."""
    person = " ".join(str(fields[n]) for n in ("GivenName", "MiddleName", "FamilyName") if fields.get(n))
    for candidate in (person, fields.get("CompanyName"), fields.get(EMAIL)):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None
