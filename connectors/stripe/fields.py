"""Stripe customers as flat fields, and flat fields back into customer parameters.

Reading flattens `address` and `metadata` into dotted names and adds the
subscription-derived fields; writing turns a sparse flat update into the
form parameters Stripe expects, checking metadata limits first so a bad
record fails alone with a message naming its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from engine.connector import FieldSchema, FieldSpec
from engine.records import Record

from .derived import derived_fields, iso

TAGS_KEY = "pairsync_tags"
METADATA_PREFIX = "metadata."
ADDRESS_PARTS = ("line1", "line2", "city", "state", "postal_code", "country")
PLAIN_FIELDS = ("name", "email", "phone", "description")
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500

STRIPE_SCHEMA = FieldSchema(
    fields=[
        FieldSpec("stripe_customer_id", read_only=True, description="the Stripe customer id; set once synced"),
        *(FieldSpec(name) for name in PLAIN_FIELDS),
        *(FieldSpec(f"address.{part}") for part in ADDRESS_PARTS),
        FieldSpec("created", type="datetime", read_only=True, description="customer since"),
        FieldSpec("plans", type="list", read_only=True, description="price, product and product name per item"),
        FieldSpec("has_subscriptions", type="bool", read_only=True),
        FieldSpec("subscription_status", read_only=True),
        FieldSpec("lifecycle_stage", read_only=True, description="from subscription_status via lifecycle_stages"),
        FieldSpec("mrr", type="float", read_only=True, description="monthly recurring revenue, major units"),
        FieldSpec("mrr_currency", read_only=True),
        FieldSpec("renewal_date", type="datetime", read_only=True, description="current period end"),
    ],
    custom_prefixes=(METADATA_PREFIX,),
)


class FieldError(ValueError):
    """A write this connector refuses before sending it; the message names the field."""


def parse_tags(metadata: Mapping[str, Any]) -> frozenset[str]:
    raw = str(metadata.get(TAGS_KEY) or "")
    return frozenset(tag.strip() for tag in raw.split(",") if tag.strip())


def format_tags(tags: frozenset[str] | set[str]) -> str:
    """The metadata value for a tag set; empty string deletes the key."""
    return ",".join(sorted(tags))


def customer_fields(customer: Mapping[str, Any]) -> dict[str, Any]:
    """The stored customer fields as flat fields (no derived ones); None values are left out."""
    fields: dict[str, Any] = {"stripe_customer_id": customer["id"]}
    for name in PLAIN_FIELDS:
        if customer.get(name) not in (None, ""):
            fields[name] = customer[name]
    address = customer.get("address") or {}
    for part in ADDRESS_PARTS:
        if address.get(part) not in (None, ""):
            fields[f"address.{part}"] = address[part]
    if customer.get("created") is not None:
        fields["created"] = iso(int(customer["created"]))
    for key, value in (customer.get("metadata") or {}).items():
        if key != TAGS_KEY:
            fields[f"{METADATA_PREFIX}{key}"] = value
    return fields


def to_record(
    customer: Mapping[str, Any], subscriptions: Sequence[Mapping[str, Any]] | None, stages: Mapping[str, str]
) -> Record:
    """A customer (deleted or not) with its subscriptions as an engine Record; None: derived fields not read."""
    if customer.get("deleted"):
        return Record(id=str(customer["id"]), fields={}, deleted=True)
    fields = customer_fields(customer)
    if subscriptions is not None:
        fields.update(derived_fields(subscriptions, stages))
    return Record(
        id=str(customer["id"]),
        fields=fields,
        tags=parse_tags(customer.get("metadata") or {}),
    )


def check_writable(fields: Mapping[str, Any]) -> None:
    """Refuse read-only and unknown fields by name."""
    known = [name for name in fields if STRIPE_SCHEMA.spec(name) is not None]
    read_only = sorted(name for name in known if not STRIPE_SCHEMA.writable(name))
    if read_only:
        raise FieldError(f"fields not writable in Stripe: {', '.join(read_only)}")
    unknown = sorted(name for name in fields if STRIPE_SCHEMA.spec(name) is None)
    if unknown:
        raise FieldError(f"no such Stripe customer field: {', '.join(unknown)}")


_BAD_KEY = re.compile(r"[\[\]]")


def metadata_params(fields: Mapping[str, Any]) -> dict[str, str]:
    """The metadata part of a write, checked against Stripe's limits; None deletes a key."""
    metadata: dict[str, str] = {}
    for name, value in fields.items():
        if not name.startswith(METADATA_PREFIX):
            continue
        key = name[len(METADATA_PREFIX) :]
        if key == TAGS_KEY:
            raise FieldError(f"{name}: {TAGS_KEY} holds pairsync's tags; use tag/untag")
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise FieldError(f"{name}: metadata keys are at most {MAX_METADATA_KEY_LENGTH} characters")
        if _BAD_KEY.search(key):
            raise FieldError(f"{name}: metadata keys cannot contain square brackets")
        text = "" if value is None else str(value)
        if len(text) > MAX_METADATA_VALUE_LENGTH:
            raise FieldError(f"{name}: metadata values are at most {MAX_METADATA_VALUE_LENGTH} characters")
        metadata[key] = text
    if len(metadata) > MAX_METADATA_KEYS:
        raise FieldError(f"metadata: at most {MAX_METADATA_KEYS} keys per customer, got {len(metadata)}")
    return metadata


def customer_params(fields: Mapping[str, Any], current_address: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Form parameters for a create or sparse update; empty strings unset values as Stripe expects.

    An address change sends the whole address (the current one merged with
    the change), so a sparse update of one part keeps the others.
    """
    check_writable(fields)
    params: dict[str, Any] = {}
    for name in PLAIN_FIELDS:
        if name in fields:
            params[name] = "" if fields[name] is None else str(fields[name])
    changed = {name.split(".", 1)[1]: value for name, value in fields.items() if name.startswith("address.")}
    if changed:
        merged = {part: (current_address or {}).get(part) for part in ADDRESS_PARTS}
        merged.update(changed)
        params["address"] = {part: "" if value is None else str(value) for part, value in merged.items()}
    metadata = metadata_params(fields)
    if metadata:
        params["metadata"] = metadata
    return params


def stripe_param_to_field(param: str | None) -> str | None:
    """`metadata[plan]` -> `metadata.plan`, `address[city]` -> `address.city`, for error messages."""
    if not param:
        return None
    return param.replace("][", ".").replace("[", ".").replace("]", "")
