"""Stripe object shapes and parameter validation for customers, products, prices and subscriptions."""

from __future__ import annotations

import calendar
import re
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ApiError, bad_param, unknown_param

# The customer create/update parameters of Stripe's API reference. Those naming objects the sandbox does not
# hold (payment methods, sources, coupons, promotion codes, tax ids, test clocks) answer Stripe's resource_missing.
CUSTOMER_PARAMS = frozenset({
    "name", "email", "phone", "description", "address", "metadata", "expand", "balance", "invoice_prefix",
    "invoice_settings", "next_invoice_sequence", "preferred_locales", "shipping", "tax", "tax_exempt", "validate",
    "payment_method", "source", "default_source", "coupon", "promotion_code", "tax_id_data", "test_clock",
    "cash_balance",
})
REFERENCES = {"payment_method": "PaymentMethod", "source": "source", "default_source": "source", "coupon": "coupon",
              "promotion_code": "promotion code", "test_clock": "test clock"}
TAX_EXEMPT = ("none", "exempt", "reverse")
INVOICE_SETTINGS = ("custom_fields", "default_payment_method", "footer", "rendering_options")
_INVOICE_PREFIX = re.compile(r"^[A-Z0-9]{3,12}$")
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
    changes.update(_billing_changes(params))
    if "shipping" in params:
        changes["shipping"] = _shipping(params["shipping"])
    if "preferred_locales" in params:
        locales = params["preferred_locales"]
        changes["preferred_locales"] = [] if locales == "" else _string_list(locales, "preferred_locales")
    if "tax_exempt" in params:
        value = params["tax_exempt"] or "none"
        if value not in TAX_EXEMPT:
            raise bad_param("tax_exempt", f"Invalid tax_exempt: must be one of {', '.join(TAX_EXEMPT)}")
        changes["tax_exempt"] = value
    _refuse_references(params)
    return changes


def _billing_changes(params: dict[str, Any]) -> dict[str, Any]:
    """balance, invoice_prefix, next_invoice_sequence and invoice_settings, validated as Stripe does."""
    changes: dict[str, Any] = {}
    for name in ("balance", "next_invoice_sequence"):
        if name in params:
            changes[name] = _integer(params[name], name)
    if "invoice_prefix" in params:
        prefix = str(params["invoice_prefix"])
        if not _INVOICE_PREFIX.match(prefix):
            raise bad_param("invoice_prefix", "Invalid invoice_prefix: 3 to 12 uppercase letters or digits")
        changes["invoice_prefix"] = prefix
    if "invoice_settings" in params:
        changes["invoice_settings"] = _invoice_settings(params["invoice_settings"])
    return changes


def _integer(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_param(param, f"Invalid integer: {value}") from None


def _string_list(value: Any, param: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_param(param, f"Invalid array: {param} must be a list of strings")
    return list(value)


def _invoice_settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_param("invoice_settings", "Invalid object: invoice_settings must be a hash")
    for key in value:
        if key not in INVOICE_SETTINGS:
            raise unknown_param(f"invoice_settings[{key}]")
    if value.get("default_payment_method"):
        raise ApiError(400, f"No such PaymentMethod: '{value['default_payment_method']}'", code="resource_missing",
                       param="invoice_settings[default_payment_method]")
    fields = value.get("custom_fields")
    custom = None
    if fields not in (None, ""):
        if not isinstance(fields, list) or len(fields) > 4:
            raise bad_param("invoice_settings[custom_fields]", "custom_fields must be a list of at most 4 fields")
        for index, item in enumerate(fields):
            if not isinstance(item, dict) or not item.get("name") or not item.get("value"):
                raise bad_param(f"invoice_settings[custom_fields][{index}]", "Each custom field needs name and value")
        custom = [{"name": f["name"], "value": f["value"]} for f in fields]
    rendering = value.get("rendering_options") or None
    return {"custom_fields": custom, "default_payment_method": None, "footer": value.get("footer") or None,
            "rendering_options": dict(rendering) if isinstance(rendering, dict) else None}


def _shipping(value: Any) -> dict[str, Any] | None:
    if value == "":
        return None
    if not isinstance(value, dict):
        raise bad_param("shipping", "Invalid object: shipping must be a hash")
    for key in value:
        if key not in ("address", "name", "phone"):
            raise unknown_param(f"shipping[{key}]")
    for required in ("address", "name"):
        if not value.get(required):
            raise bad_param(f"shipping[{required}]", f"Missing required param: shipping[{required}].",
                            code="parameter_missing")
    address = _address(value["address"])
    return {"address": address, "name": value["name"], "phone": value.get("phone") or None}


def _refuse_references(params: dict[str, Any]) -> None:
    """Parameters naming objects this account does not hold: Stripe's 400 resource_missing."""
    for name, kind in REFERENCES.items():
        if params.get(name):
            raise ApiError(400, f"No such {kind}: '{params[name]}'", code="resource_missing", param=name)
    if params.get("tax_id_data"):
        raise bad_param("tax_id_data", "The sandbox does not validate tax ids; create the customer without them.")
    if params.get("cash_balance"):
        raise bad_param("cash_balance", "Cash balances need a customer balance payment method, which the sandbox "
                                        "does not hold.")


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
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
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


def diff(old: Any, new: Any) -> dict[str, Any]:
    """`previous_attributes`: the old value of each changed key; hashes recurse, arrays count whole.

    A key that did not exist before is named with null, as Stripe names it.
    """
    changed: dict[str, Any] = {}
    for key in {*old, *new}:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            changed[key] = diff(before, after)
        else:
            changed[key] = deepcopy(before)
    return changed


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


PRICE_PARAMS = frozenset({
    "currency", "product", "product_data", "unit_amount", "unit_amount_decimal", "active", "metadata", "nickname",
    "recurring", "tax_behavior", "lookup_key", "billing_scheme", "transfer_lookup_key", "expand",
})
PRICE_UPDATE_PARAMS = frozenset({"active", "metadata", "nickname", "lookup_key", "tax_behavior",
                                 "transfer_lookup_key", "expand"})
PRODUCT_PARAMS = frozenset({
    "name", "active", "description", "id", "images", "marketing_features", "metadata", "package_dimensions",
    "shippable", "statement_descriptor", "tax_code", "unit_label", "url", "expand",
})
PRODUCT_UPDATE_PARAMS = (PRODUCT_PARAMS - {"id"}) | {"default_price"}
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")
# Subscription create/update parameters of the API reference the sandbox honours; the payment-related ones it
# accepts without effect (there are no payments here) are listed apart.
SUBSCRIPTION_CREATE_PARAMS = frozenset({
    "customer", "items", "metadata", "trial_period_days", "trial_end", "description", "cancel_at_period_end",
    "collection_method", "days_until_due", "expand", "payment_behavior", "proration_behavior", "off_session",
    "currency", "default_payment_method", "default_source", "coupon", "promotion_code", "discounts",
})
SUBSCRIPTION_UPDATE_PARAMS = frozenset({
    "metadata", "description", "cancel_at_period_end", "collection_method", "days_until_due", "expand",
    "proration_behavior", "payment_behavior", "default_payment_method", "default_source", "trial_end",
})
SUBSCRIPTION_REFERENCES = {"default_payment_method": "PaymentMethod", "default_source": "source",
                           "coupon": "coupon", "promotion_code": "promotion code"}
COLLECTION_METHODS = ("charge_automatically", "send_invoice")


def subscription_changes(params: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """Validated subscription attributes; references to payment objects answer resource_missing."""
    check_known(params, allowed)
    for name, kind in SUBSCRIPTION_REFERENCES.items():
        if params.get(name):
            raise ApiError(400, f"No such {kind}: '{params[name]}'", code="resource_missing", param=name)
    changes: dict[str, Any] = {}
    if "description" in params:
        changes["description"] = params["description"] or None
    if "cancel_at_period_end" in params:
        changes["cancel_at_period_end"] = flag(params, "cancel_at_period_end", False)
    if "collection_method" in params:
        if params["collection_method"] not in COLLECTION_METHODS:
            raise bad_param("collection_method", f"Invalid collection_method: must be one of "
                                                 f"{', '.join(COLLECTION_METHODS)}")
        changes["collection_method"] = params["collection_method"]
    if "days_until_due" in params:
        changes["days_until_due"] = _integer(params["days_until_due"], "days_until_due")
    if changes.get("collection_method") == "send_invoice" and changes.get("days_until_due") is None:
        raise bad_param("days_until_due", "days_until_due is required when collection_method is send_invoice.",
                        code="parameter_missing")
    return changes
INTERVALS = ("day", "week", "month", "year")


def flag(params: dict[str, Any], name: str, default: bool) -> bool:
    """A boolean parameter as the form encoding carries it ("true"/"false")."""
    value = params.get(name, default)
    if isinstance(value, bool):
        return value
    if value not in ("true", "false"):
        raise bad_param(name, f"Invalid boolean: {value}")
    return bool(value == "true")


def price_changes(params: dict[str, Any], allowed: frozenset[str] = PRICE_UPDATE_PARAMS) -> dict[str, Any]:
    """The updatable price attributes; the rest of a price is fixed once created, as at Stripe."""
    check_known(params, allowed)
    changes: dict[str, Any] = {}
    if "active" in params:
        changes["active"] = flag(params, "active", True)
    for name in ("nickname", "lookup_key"):
        if name in params:
            changes[name] = params[name] or None
    if "tax_behavior" in params:
        if params["tax_behavior"] not in TAX_BEHAVIORS:
            raise bad_param("tax_behavior", f"Invalid tax_behavior: must be one of {', '.join(TAX_BEHAVIORS)}")
        changes["tax_behavior"] = params["tax_behavior"]
    return changes


def _recurring(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    if not isinstance(value, dict):
        raise bad_param("recurring", "Invalid object: recurring must be a hash")
    for key in value:
        if key not in ("interval", "interval_count", "usage_type", "meter"):
            raise unknown_param(f"recurring[{key}]")
    if value.get("interval") not in INTERVALS:
        raise bad_param("recurring[interval]", f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}")
    return {"interval": value["interval"], "interval_count": int(value.get("interval_count", 1)),
            "usage_type": value.get("usage_type", "licensed"), "meter": value.get("meter")}


def new_price(price_id: str, params: dict[str, Any], product_id: str, created: int) -> dict[str, Any]:
    if "currency" not in params:
        raise bad_param("currency", "Missing required param: currency.", code="parameter_missing")
    if params.get("billing_scheme", "per_unit") != "per_unit":
        raise bad_param("billing_scheme", "The sandbox prices per unit only (tiered prices are not implemented).")
    changes = price_changes({k: v for k, v in params.items() if k in PRICE_UPDATE_PARAMS}, PRICE_UPDATE_PARAMS)
    check_known(params, PRICE_PARAMS)
    recurring = _recurring(params.get("recurring"))
    amount = params.get("unit_amount")
    if amount is None and "unit_amount_decimal" not in params:
        raise bad_param("unit_amount", "Missing required param: unit_amount.", code="parameter_missing")
    if amount is None:
        amount = float(params["unit_amount_decimal"])
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": str(params["currency"]).lower(),
        "livemode": False,
        "metadata": check_metadata(params.get("metadata", {})),
        "nickname": None,
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "lookup_key": None,
        "custom_unit_amount": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": int(float(amount)),
        "unit_amount_decimal": str(params.get("unit_amount_decimal", amount)),
        **changes,
    }


def product_changes(params: dict[str, Any], allowed: frozenset[str] = PRODUCT_UPDATE_PARAMS) -> dict[str, Any]:
    """Product attributes from create/update parameters; empty strings unset, as at Stripe."""
    check_known(params, allowed)
    changes: dict[str, Any] = {}
    for name in ("active", "shippable"):
        if name in params:
            changes[name] = flag(params, name, True) if params[name] != "" else None
    for name in ("name", "description", "statement_descriptor", "tax_code", "unit_label", "url", "default_price"):
        if name in params:
            changes[name] = params[name] or None
    if "name" in params and not params["name"]:
        raise bad_param("name", "You must provide a non-empty name.", code="parameter_missing")
    if "images" in params:
        changes["images"] = [] if params["images"] == "" else _string_list(params["images"], "images")
    if "marketing_features" in params:
        features = params["marketing_features"] or []
        if not isinstance(features, list) or not all(isinstance(f, dict) and f.get("name") for f in features):
            raise bad_param("marketing_features", "Each marketing feature needs a name")
        changes["marketing_features"] = [{"name": f["name"]} for f in features]
    if "package_dimensions" in params:
        dims = params["package_dimensions"]
        changes["package_dimensions"] = None if dims == "" else {
            k: float(dims[k]) for k in ("height", "length", "weight", "width") if k in dims}
    return changes


def new_product(product_id: str, params: dict[str, Any], created: int) -> dict[str, Any]:
    if not params.get("name"):
        raise bad_param("name", "Missing required param: name.", code="parameter_missing")
    changes = product_changes({k: v for k, v in params.items() if k not in ("metadata", "id")},
                              PRODUCT_PARAMS - {"metadata", "id"})
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": created,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": check_metadata(params.get("metadata", {})),
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "unit_label": None,
        "updated": created,
        "url": None,
        **changes,
    }
