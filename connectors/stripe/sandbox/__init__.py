"""A stateful Stripe sandbox speaking the wire format, for tests, benchmarks and `pairsync sandbox stripe`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from engine.connector import Sandbox

from ..fields import customer_params, to_record
from ..settings import DEFAULT_LIFECYCLE_STAGES
from .app import StripeApp
from .delivery import WebhookDelivery, signature_header
from .errors import rate_limited, server_error
from .permissions import Permissions, PermissionsMiddleware
from .seeding import seed_account
from .store import Store

__all__ = ["StripeSandbox", "signature_header"]


class StripeSandbox(Sandbox):
    """One Stripe test account in memory; credentials are generated per instance unless given."""

    connector_name = "stripe"

    def __init__(
        self,
        seed: int = 0,
        rng_seed: int = 0,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        webhook_url: str | None = None,
    ) -> None:
        self.store = Store(rng_seed)
        self.api_key = api_key or f"sk_test_{secrets.token_hex(12)}"
        self.webhook_secret = webhook_secret or f"whsec_{secrets.token_hex(16)}"
        self.delivery: WebhookDelivery | None = None
        self._app = StripeApp(self)
        self.permissions = Permissions()
        if webhook_url:
            self.deliver_webhooks(webhook_url)
        super().__init__(seed=seed, rng_seed=rng_seed)

    def __repr__(self) -> str:
        return f"StripeSandbox(customers={len(self.records())})"

    def app(self) -> Any:
        return PermissionsMiddleware(self._app.app(), self.permissions)

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"api_key": self.api_key, "webhook_secret": self.webhook_secret, "base_url": base_url}

    def deliver_webhooks(self, url: str) -> WebhookDelivery:
        """Post every later event to `url`, signed with this sandbox's webhook secret."""
        self.delivery = WebhookDelivery(url, self.webhook_secret)
        self.store.listeners.append(self.delivery)
        return self.delivery

    def seed(self, count: int) -> None:
        seed_account(self.store, count)

    def add_record(self, fields: Mapping[str, Any]) -> str:
        return str(self.store.create_customer(customer_params(dict(fields)))["id"])

    def update_record(self, record_id: str, fields: Mapping[str, Any]) -> None:
        current = self.store.objects.get(record_id) or {}
        self.store.update_customer(record_id, customer_params(dict(fields), current.get("address")))

    def delete_record(self, record_id: str) -> None:
        self.store.delete_customer(record_id)

    def records(self) -> list[dict[str, Any]]:
        with self.store.lock:
            customers = [c for c in self.store.of_kind("customer") if not c.get("deleted")]
            subs = self.store.of_kind("subscription")
            found = []
            for customer in customers:
                own = [self._with_products(s) for s in subs if s["customer"] == customer["id"]]
                record = to_record(customer, own, DEFAULT_LIFECYCLE_STAGES)
                found.append({"id": record.id, **record.fields, "tags": sorted(record.tags)})
            return found

    def _with_products(self, subscription: dict[str, Any]) -> dict[str, Any]:
        items = []
        for item in subscription["items"]["data"]:
            price = {**item["price"], "product": self.store.objects.get(item["price"]["product"])}
            items.append({**item, "price": price})
        return {**subscription, "items": {**subscription["items"], "data": items}}

    def error_response(self, status: int, retry_after: float | None = None) -> Response:
        if status == 429:
            return rate_limited(retry_after).response()
        return server_error(status).response()

    # outside changes to subscriptions, as a Stripe user or payments would make them

    def subscribe(self, customer_id: str, price_id: str, quantity: int = 1, trial_days: int = 0) -> str:
        params: dict[str, Any] = {"customer": customer_id, "items": [{"price": price_id, "quantity": quantity}]}
        if trial_days:
            params["trial_period_days"] = trial_days
        return str(self.store.create_subscription(params)["id"])

    def set_subscription_status(self, subscription_id: str, status: str) -> None:
        self.store.set_subscription_status(subscription_id, status)

    def cancel(self, subscription_id: str) -> None:
        self.store.cancel_subscription(subscription_id)

    def lose_responses(self, count: int) -> None:
        """The next `count` writes are committed but answer 500, as if the response were lost."""
        self._app.lose_responses = count

    def advance_clock(self, seconds: int) -> None:
        """Move the account's clock forward (events older than 30 days then disappear)."""
        self.store.clock_offset += seconds
