"""Stripe object shapes and parameter validation for customers, products, prices and subscriptions."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ApiError, bad_param, unknown_param

CUSTOMER_PARAMS = frozenset({"name", "email", "phone", "description", "address", "metadata", "expand"})
ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")
STRING_LIMITS = {"name": 256, "email": 512, "phone": 20, "description": 350}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_known(params: dict[str, Any], allowed: frozenset[str]) -> None:
    for name in params:
        if name not in allowed:
            raise unknown_param(name)


def check_metadata(metadata: Any) -> dict[str, str]:
    """Stripe's metadata limits: 50 keys, keys up to 40 characters without brackets, values up to 500."""
    if metadata == "":
        return {}
    if not isinstance(metadata, dict):
        raise bad_param("metadata", "Invalid object: metadata must be a hash of string keys and values")
    for key, value in metadata.items():
        if len(key) > 40 or "[" in key or "]" in key:
            raise bad_param(f"metadata[{key}]", f"Invalid metadata key: {key} (at most 40 characters, no brackets)")
        if not isinstance(value, str) or len(value) > 500:
            raise bad_param(f"metadata[{key}]", f"Metadata values can have up to 500 characters, but {key} is longer")
    return dict(metadata)


def merge_metadata(current: dict[str, str], change: Any) -> dict[str, str]:
    """Metadata updates merge; an empty value deletes a key, an empty hash string clears all."""
    if change == "":
        return {}
    merged = dict(current)
    for key, value in check_metadata(change).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise bad_param("metadata", "You can have at most 50 metadata keys (this update would make more)")
    return merged


def customer_changes(params: dict[str, Any]) -> dict[str, Any]:
    """Validated customer attributes from create/update parameters; empty strings unset."""
    check_known(params, CUSTOMER_PARAMS)
    changes: dict[str, Any] = {}
    for name, limit in STRING_LIMITS.items():
        if name not in params:
            continue
        value = params[name]
        if not isinstance(value, str):
            raise bad_param(name, f"Invalid string: {name} must be a string")
        if len(value) > limit:
            raise bad_param(name, f"Invalid string: {name} must be at most {limit} characters")
        if name == "email" and value and not _EMAIL.match(value):
            raise ApiError(400, f"Invalid email address: {value}", code="email_invalid", param="email")
        changes[name] = value or None
    if "address" in params:
        changes["address"] = _address(params["address"])
    return changes


def _address(value: Any) -> dict[str, Any] | None:
    if value == "":
        return None
    if not isinstance(value, dict):
        raise bad_param("address", "Invalid object: address must be a hash")
    for key in value:
        if key not in ADDRESS_KEYS:
            raise unknown_param(f"address[{key}]")
    return {key: (value.get(key) or None) for key in ADDRESS_KEYS}


def new_customer(customer_id: str, created: int) -> dict[str, Any]:
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": customer_id[4:12].upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def add_interval(start: int, interval: str, count: int) -> int:
    """The period end: calendar months and years, fixed days and weeks."""
    moment = datetime.fromtimestamp(start, tz=UTC)
    if interval in ("month", "year"):
        months = count * (12 if interval == "year" else 1)
        year, month = divmod(moment.month - 1 + months, 12)
        year += moment.year
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])
        return int(moment.replace(year=year, month=month + 1, day=day).timestamp())
    days = count * (7 if interval == "week" else 1)
    return int((moment + timedelta(days=days)).timestamp())


def new_price(price_id: str, params: dict[str, Any], product_id: str, created: int) -> dict[str, Any]:
    if "currency" not in params:
        raise bad_param("currency", "Missing required param: currency.", code="parameter_missing")
    recurring = params.get("recurring")
    amount = params.get("unit_amount")
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": str(params["currency"]).lower(),
        "livemode": False,
        "metadata": check_metadata(params.get("metadata", {})),
        "nickname": params.get("nickname"),
        "product": product_id,
        "recurring": None
        if not recurring
        else {
            "interval": recurring.get("interval", "month"),
            "interval_count": int(recurring.get("interval_count", 1)),
            "usage_type": recurring.get("usage_type", "licensed"),
            "meter": None,
        },
        "type": "recurring" if recurring else "one_time",
        "unit_amount": int(amount) if amount is not None else None,
        "unit_amount_decimal": str(params.get("unit_amount_decimal", amount)) if amount is not None else None,
    }


def new_product(product_id: str, params: dict[str, Any], created: int) -> dict[str, Any]:
    if not params.get("name"):
        raise bad_param("name", "Missing required param: name.", code="parameter_missing")
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": created,
        "description": params.get("description"),
        "livemode": False,
        "metadata": check_metadata(params.get("metadata", {})),
        "name": params["name"],
        "updated": created,
    }
