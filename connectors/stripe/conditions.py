"""Stripe's IF operators: whether a customer is subscribed to a plan.

A condition on the `plans` field names a plan by price id (`price_...`),
product id (`prod_...`) or product name ("Pro"), or a list of them:
`{field: plans, op: subscribed_to, value: Pro}`. Names compare without
regard to case; ids exactly. "Has subscriptions" needs no operator of its
own: `{field: has_subscriptions, op: equals, value: true}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.hookspecs import hookimpl

Op = Callable[[Any, Any], bool]


def _wanted(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [str(item).strip() for item in items if item not in (None, "")]


def _matches(plan: Mapping[str, Any], wanted: str) -> bool:
    ids = {str(plan[key]) for key in ("price", "product") if plan.get(key)}
    name = str(plan.get("product_name") or "").casefold()
    return wanted in ids or (bool(name) and wanted.casefold() == name)


def subscribed_to(plans: Any, value: Any) -> bool:
    """Whether any live plan of the customer is one of the named prices, products or product names."""
    if not isinstance(plans, list):
        return False
    held = [p for p in plans if isinstance(p, Mapping)]
    return any(_matches(plan, wanted) for plan in held for wanted in _wanted(value))


def not_subscribed_to(plans: Any, value: Any) -> bool:
    return not subscribed_to(plans, value)


STRIPE_OPS: dict[str, Op] = {"subscribed_to": subscribed_to, "not_subscribed_to": not_subscribed_to}


@hookimpl
def register_condition_ops(register: Callable[[str, Op], None]) -> None:
    for name, op in STRIPE_OPS.items():
        register(name, op)
