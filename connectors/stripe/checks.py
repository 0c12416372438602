"""`pairsync check` for Stripe: each permission a restricted key needs, proven with one cheap request.

A write permission is proven without writing: an update of a customer that cannot exist
answers 404 when the key may write customers and 403 when it may not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import stripe

from engine.connector import PermissionCheck
from engine.secrets import REDACTOR

from .events import events_unavailable

PROBE_CUSTOMER = "cus_pairsync_permission_probe"
KEY_FIX = "Stripe dashboard → Developers → API keys: edit the restricted key"


async def run_checks(client: stripe.StripeClient, writes: bool, derived: bool) -> list[PermissionCheck]:
    """Credentials first; when they fail, nothing else is worth asking."""
    first = await _probe(lambda: client.v1.customers.list_async({"limit": 1}))
    if isinstance(first, stripe.AuthenticationError):
        return [PermissionCheck("credentials", False, cost="nothing syncs", fix="put a valid key in the config",
                                detail=_said(first))]
    checks = [PermissionCheck("credentials", True), _result("Customers read", first, cost="nothing syncs")]
    if writes:
        written = await _probe(lambda: client.v1.customers.update_async(PROBE_CUSTOMER, {}))
        missing = isinstance(written, stripe.InvalidRequestError) and written.http_status == 404
        checks.append(_result("Customers write", None if missing else written,
                              cost="no record can be written into Stripe"))
    if derived:
        subscriptions = await _probe(lambda: client.v1.subscriptions.list_async({"limit": 1}))
        checks.append(_result("Subscriptions read", subscriptions, cost="no derived fields (plans, mrr, ...)",
                              alternative="or set read_subscriptions: false"))
        products = await _probe(lambda: client.v1.products.list_async({"limit": 1}))
        checks.append(_result("Products read", products, cost="no plan names in the derived fields",
                              alternative="or set read_subscriptions: false"))
        prices = await _probe(lambda: client.v1.prices.list_async({"limit": 1}))
        checks.append(_result("Prices read", prices, cost="no derived fields (subscription items carry prices)",
                              alternative="or set read_subscriptions: false"))
    events = await _probe(lambda: client.v1.events.list_async({"limit": 1}))
    refused = isinstance(events, stripe.StripeError) and events_unavailable(events)
    checks.append(PermissionCheck(
        "Events read", not refused, required=False,
        cost="every run lists all customers (no incremental reads)" if refused else "",
        fix=f"{KEY_FIX}: Events → Read" if refused else "",
        detail=_said(events) if refused and events is not None else "",
    ))
    return checks


async def _probe(call: Callable[[], Awaitable[Any]]) -> stripe.StripeError | None:
    try:
        await call()
    except stripe.StripeError as error:
        return error
    return None


def _result(name: str, error: stripe.StripeError | None, cost: str, alternative: str = "") -> PermissionCheck:
    if error is None:
        return PermissionCheck(name, True)
    if not isinstance(error, stripe.PermissionError):
        raise error  # not a permission answer: the check itself failed
    resource, _, level = name.partition(" ")
    fix = f"{KEY_FIX}: {resource} → {level.capitalize()}" + (f" ({alternative})" if alternative else "")
    return PermissionCheck(name, False, cost=cost, fix=fix, detail=_said(error))


def _said(error: stripe.StripeError) -> str:
    return REDACTOR.redact(str(error.user_message or error))
