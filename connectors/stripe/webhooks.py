"""Webhook verification: the SDK's own signature check, then the customer ids the event names."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import stripe

from engine.connector import WebhookError

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "stripe-signature"
_OUTSIDE = f"timestamp outside the {TOLERANCE_SECONDS} s tolerance"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def customer_id_of(event_type: str, obj: Mapping[str, Any]) -> str | None:
    """The customer an event is about: the object itself, or the subscription's customer."""
    if event_type.startswith("customer.subscription."):
        customer = obj.get("customer")
        customer = customer.get("id") if isinstance(customer, Mapping) else customer
        return customer if isinstance(customer, str) and customer else None
    if event_type.startswith("customer.") and obj.get("object") == "customer" and isinstance(obj.get("id"), str):
        return str(obj["id"])
    return None


def verify(client: stripe.StripeClient, secret: str | None, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Ids of the customers a correctly signed, fresh event names; WebhookError otherwise.

    The signature is checked before the body is parsed, and its timestamp must be within the tolerance
    both ways: an event signed for the future is refused like one signed long ago.
    """
    if not secret:
        raise WebhookError("stripe: no webhook_secret in the account settings; cannot verify webhooks")
    signature = header(headers, SIGNATURE_HEADER)
    if not signature:
        raise WebhookError("stripe: missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), signature, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise WebhookError(f"stripe: webhook signature rejected ({_reason(error)})") from None
    except UnicodeDecodeError:
        raise WebhookError("stripe: webhook body is not UTF-8 text") from None
    if _signed_at(signature) > time.time() + TOLERANCE_SECONDS:
        raise WebhookError(f"stripe: webhook signature rejected ({_OUTSIDE})")
    event = _event(body)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    customer = customer_id_of(str(event.get("type", "")), obj if isinstance(obj, Mapping) else {})
    return [customer] if customer else []


def _signed_at(signature: str) -> int:
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    return 0


def _event(body: bytes) -> Mapping[str, Any]:
    """The event object of a verified body; a list, a scalar or a too deeply nested body is refused."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookError("stripe: webhook body is not a JSON event") from None
    if not isinstance(event, dict):
        raise WebhookError(f"stripe: webhook body is a JSON {type(event).__name__}, not an event object")
    return event


def _reason(error: stripe.SignatureVerificationError) -> str:
    """The SDK's reason without the header or payload it may quote."""
    message = str(error.user_message or "")
    if "tolerance" in message:
        return _OUTSIDE
    if "matching the expected signature" in message:
        return "no signature matches the endpoint secret"
    return "malformed signature header"
