"""Sample data for a sandbox account: a small catalogue and customers spread over two years."""

from __future__ import annotations

from typing import Any

from .store import Store

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Linus")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Torvalds")
CITIES = (("London", "GB"), ("Paris", "FR"), ("Berlin", "DE"), ("Austin", "US"), ("Osaka", "JP"))
TWO_YEARS = 730 * 86400


def catalogue(store: Store) -> list[str]:
    """A few products and recurring prices (monthly, yearly, weekly); returns the price ids."""
    existing = [p["id"] for p in store.of_kind("price")]
    if existing:
        return existing
    plans = [
        ("Starter", 1500, "month", 1),
        ("Pro", 4900, "month", 1),
        ("Pro", 49000, "year", 1),
        ("Team", 1000, "week", 1),
    ]
    products: dict[str, str] = {}
    prices = []
    for name, amount, interval, count in plans:
        if name not in products:
            products[name] = store.create_product({"name": name})["id"]
        price = store.create_price(
            {
                "product": products[name],
                "currency": "usd",
                "unit_amount": str(amount),
                "recurring": {"interval": interval, "interval_count": str(count)},
            }
        )
        prices.append(price["id"])
    return prices


def seed_account(store: Store, count: int) -> None:
    """`count` customers with addresses, metadata and (for most) a subscription."""
    with store.lock:
        prices = catalogue(store)
        now = store.now()
        rng = store.rng
        for index in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            city, country = rng.choice(CITIES)
            params: dict[str, Any] = {
                "name": f"{first} {last}",
                "email": f"{first}.{last}.{index}.{rng.randrange(10**6)}@example.com".lower(),
                "phone": f"+1555{rng.randrange(10**7):07d}",
                "address": {"city": city, "country": country, "line1": f"{rng.randrange(1, 200)} Main Street"},
                "metadata": {"segment": rng.choice(("smb", "mid", "enterprise"))},
            }
            customer = store.create_customer(params, created=now - rng.randrange(TWO_YEARS))
            _maybe_subscribe(store, customer, prices, rng.random(), rng.randrange(len(prices)))


def _maybe_subscribe(store: Store, customer: dict[str, Any], prices: list[str], roll: float, pick: int) -> None:
    """Most customers subscribe when they sign up: some on a trial, a few cancel later."""
    customer_id = customer["id"]
    if roll < 0.3:
        return
    params: dict[str, Any] = {"customer": customer_id, "items": [{"price": prices[pick], "quantity": "1"}]}
    if roll < 0.45:
        params["trial_period_days"] = "14"
    subscription = store.create_subscription(params, created=customer["created"])
    if roll > 0.9:
        store.cancel_subscription(subscription["id"])
