"""The MRR, lifecycle and renewal tables: subscriptions in, derived read-only fields out."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.stripe.derived import derived_fields, mrr
from connectors.stripe.settings import DEFAULT_LIFECYCLE_STAGES


def item(amount: int, interval: str = "month", count: int = 1, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    recurring = {"interval": interval, "interval_count": count, "usage_type": extra.pop("usage_type", "licensed")}
    price = {"id": "price_1", "currency": extra.pop("currency", "usd"), "unit_amount": amount, "recurring": recurring,
             "product": {"id": "prod_1", "name": "Pro"}}
    return {"price": price, "quantity": quantity, **extra}


def sub(status: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"status": status, "items": {"data": list(items)}}


@pytest.mark.parametrize(
    ("subscriptions", "expected"),
    [
        pytest.param([sub("active", item(1500))], (15.0, "usd"), id="monthly"),
        pytest.param([sub("active", item(120000, "year"))], (100.0, "usd"), id="yearly"),
        pytest.param([sub("active", item(1200, "week"))], (52.0, "usd"), id="weekly"),
        pytest.param([sub("active", item(3000, "month", count=3))], (10.0, "usd"), id="quarterly"),
        pytest.param([sub("active", item(1000, "day"))], (304.17, "usd"), id="daily"),
        pytest.param([sub("active", item(1500, quantity=4))], (60.0, "usd"), id="quantity"),
        pytest.param([sub("active", item(1500), item(120000, "year"))], (115.0, "usd"), id="several-items"),
        pytest.param([sub("active", item(1500)), sub("past_due", item(500))], (20.0, "usd"), id="past-due-counts"),
        pytest.param([sub("trialing", item(1500))], None, id="trial-pays-nothing"),
        pytest.param([sub("canceled", item(1500))], None, id="canceled"),
        pytest.param([sub("active", item(1500, usage_type="metered"))], None, id="metered-excluded"),
        pytest.param([sub("active", item(5000, currency="jpy"))], (5000.0, "jpy"), id="zero-decimal-currency"),
        pytest.param([], None, id="no-subscriptions"),
    ],
)
def test_mrr_normalises_to_one_month_in_major_units(
    subscriptions: list[dict[str, Any]], expected: tuple[float, str] | None
) -> None:
    assert mrr(subscriptions) == expected


@pytest.mark.parametrize(
    ("statuses", "status", "stage"),
    [
        (["trialing"], "trialing", "trial"),
        (["active"], "active", "customer"),
        (["incomplete"], "incomplete", "customer"),
        (["incomplete_expired"], "incomplete_expired", "customer"),
        (["past_due"], "past_due", "customer"),
        (["unpaid"], "unpaid", "customer"),
        (["canceled"], "canceled", "churned"),
        (["canceled", "active"], "active", "customer"),
        (["canceled", "trialing"], "trialing", "trial"),
        ([], None, None),
    ],
)
def test_lifecycle_stage_follows_the_most_alive_subscription(
    statuses: list[str], status: str | None, stage: str | None
) -> None:
    fields = derived_fields([sub(s, item(1500)) for s in statuses], DEFAULT_LIFECYCLE_STAGES)
    assert (fields["subscription_status"], fields["lifecycle_stage"]) == (status, stage)


def test_lifecycle_table_is_configurable() -> None:
    stages = {**DEFAULT_LIFECYCLE_STAGES, "past_due": "at_risk"}
    assert derived_fields([sub("past_due", item(1500))], stages)["lifecycle_stage"] == "at_risk"


def test_renewal_date_reads_item_periods_first_then_the_subscription() -> None:
    on_items = sub("active", item(1500, current_period_end=1_900_000_000), item(900, current_period_end=1_800_000_000))
    legacy = {**sub("active", item(1500)), "current_period_end": 1_700_000_000}
    assert derived_fields([on_items], DEFAULT_LIFECYCLE_STAGES)["renewal_date"] == "2027-01-15T08:00:00+00:00"
    assert derived_fields([legacy], DEFAULT_LIFECYCLE_STAGES)["renewal_date"] == "2023-11-14T22:13:20+00:00"


def test_plans_list_live_items_with_product_names() -> None:
    fields = derived_fields([sub("active", item(1500)), sub("canceled", item(900))], DEFAULT_LIFECYCLE_STAGES)
    assert fields["plans"] == [{"price": "price_1", "product": "prod_1", "product_name": "Pro"}]
    assert fields["has_subscriptions"] is True
