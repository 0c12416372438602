"""Webhook verification: the SDK's own signature check, then the customer ids the event names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from engine.connector import WebhookError

TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "stripe-signature"


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
        return customer.get("id") if isinstance(customer, Mapping) else customer
    if event_type.startswith("customer.") and obj.get("object") == "customer":
        return str(obj["id"])
    return None


def verify(client: stripe.StripeClient, secret: str | None, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Ids of the customers a correctly signed, fresh event names; WebhookError otherwise."""
    if not secret:
        raise WebhookError("stripe: no webhook_secret in the account settings; cannot verify webhooks")
    signature = header(headers, SIGNATURE_HEADER)
    if not signature:
        raise WebhookError("stripe: missing Stripe-Signature header")
    try:
        event = client.construct_event(body, signature, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise WebhookError(f"stripe: webhook signature rejected ({_reason(error)})") from None
    except ValueError:
        raise WebhookError("stripe: webhook body is not a JSON event") from None
    data = event.to_dict()
    customer = customer_id_of(str(data.get("type", "")), (data.get("data") or {}).get("object") or {})
    return [customer] if customer else []


def _reason(error: stripe.SignatureVerificationError) -> str:
    """The SDK's reason without the header or payload it may quote."""
    message = str(error.user_message or "")
    if "tolerance" in message:
        return "timestamp outside the 300 s tolerance"
    if "matching the expected signature" in message:
        return "no signature matches the endpoint secret"
    return "malformed signature header"
