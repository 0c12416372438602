"""Read-only fields derived from a customer's subscriptions: plans, status, stage, MRR, renewal.

Stripe has no "MRR" or "lifecycle stage" on a customer; CRMs want both, so
they are computed here from the subscriptions (with items, prices and
products expanded) each time a customer is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# Subscriptions that still bill or may bill: they give plans and a renewal date.
LIVE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid", "incomplete", "paused"})
# Subscriptions counted in MRR, as Stripe Billing counts it (a trial pays nothing yet).
MRR_STATUSES = frozenset({"active", "past_due"})
# Which status speaks for a customer with several subscriptions: the most alive first.
STATUS_RANK = ("active", "past_due", "unpaid", "trialing", "incomplete", "paused", "incomplete_expired", "canceled")

MONTHS_PER_INTERVAL: dict[str, Decimal] = {
    "day": Decimal(12) / Decimal(365),
    "week": Decimal(12) / Decimal(52),
    "month": Decimal(1),
    "year": Decimal(12),
}
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

Sub = Mapping[str, Any]


def items_of(subscription: Sub) -> list[Mapping[str, Any]]:
    items = subscription.get("items") or {}
    return list(items.get("data") or [])


def plans(subscriptions: Sequence[Sub]) -> list[dict[str, str | None]]:
    """Price, product and product name of every item of the live subscriptions."""
    found: list[dict[str, str | None]] = []
    for subscription in subscriptions:
        if subscription.get("status") not in LIVE_STATUSES:
            continue
        for item in items_of(subscription):
            price = item.get("price") or {}
            product = price.get("product")
            product_id = product.get("id") if isinstance(product, Mapping) else product
            name = product.get("name") if isinstance(product, Mapping) else None
            found.append({"price": price.get("id"), "product": product_id, "product_name": name})
    return found


def subscription_status(subscriptions: Sequence[Sub]) -> str | None:
    """The status that speaks for the customer: the most alive of its subscriptions."""
    statuses = {s.get("status") for s in subscriptions}
    for status in STATUS_RANK:
        if status in statuses:
            return status
    return None


def lifecycle_stage(status: str | None, table: Mapping[str, str]) -> str | None:
    return table.get(status) if status else None


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in the currency's major unit."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    return 3 if code in THREE_DECIMAL_CURRENCIES else 2


def item_monthly_minor(item: Mapping[str, Any]) -> Decimal | None:
    """One licensed recurring item normalised to a month, in minor units; None when it does not count."""
    price = item.get("price") or {}
    recurring = price.get("recurring") or {}
    if not recurring or recurring.get("usage_type", "licensed") != "licensed":
        return None
    amount = price.get("unit_amount_decimal")
    if amount is None:
        amount = price.get("unit_amount")
    months = MONTHS_PER_INTERVAL.get(str(recurring.get("interval")))
    if amount is None or months is None:
        return None  # tiered prices have no unit amount; unknown intervals do not count
    per_interval = Decimal(str(amount)) * Decimal(int(item.get("quantity") or 1))
    return per_interval / (months * Decimal(int(recurring.get("interval_count") or 1)))


def mrr(subscriptions: Sequence[Sub]) -> tuple[float, str] | None:
    """Monthly recurring revenue in major units and its currency (the first currency seen)."""
    total = Decimal(0)
    currency: str | None = None
    for subscription in subscriptions:
        if subscription.get("status") not in MRR_STATUSES:
            continue
        for item in items_of(subscription):
            price = item.get("price") or {}
            monthly = item_monthly_minor(item)
            if monthly is None:
                continue
            currency = currency or str(price.get("currency") or subscription.get("currency") or "")
            if str(price.get("currency") or currency) == currency:
                total += monthly
    if currency is None:
        return None
    exponent = currency_exponent(currency)
    major = total / (Decimal(10) ** exponent)
    return float(round(major, exponent)), currency


def renewal_date(subscriptions: Sequence[Sub]) -> str | None:
    """The earliest current period end of the live subscriptions (items first, as recent API versions keep it)."""
    ends: list[int] = []
    for subscription in subscriptions:
        if subscription.get("status") not in LIVE_STATUSES:
            continue
        item_ends = [int(i["current_period_end"]) for i in items_of(subscription) if i.get("current_period_end")]
        if item_ends:
            ends.extend(item_ends)
        elif subscription.get("current_period_end"):
            ends.append(int(subscription["current_period_end"]))
    return iso(min(ends)) if ends else None


def iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()


def derived_fields(subscriptions: Sequence[Sub], stages: Mapping[str, str]) -> dict[str, Any]:
    """Every derived field of one customer, as flat fields."""
    status = subscription_status(subscriptions)
    revenue = mrr(subscriptions)
    return {
        "plans": plans(subscriptions),
        "has_subscriptions": any(s.get("status") in LIVE_STATUSES for s in subscriptions),
        "subscription_status": status,
        "lifecycle_stage": lifecycle_stage(status, stages),
        "mrr": revenue[0] if revenue else 0.0,
        "mrr_currency": revenue[1] if revenue else None,
        "renewal_date": renewal_date(subscriptions),
    }
