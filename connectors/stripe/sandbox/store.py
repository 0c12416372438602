"""The sandbox's account: customers, products, prices, subscriptions and the events every change makes."""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from ..settings import API_VERSION
from .errors import ApiError, bad_param, missing
from .objects import (
    PRICE_UPDATE_PARAMS,
    PRODUCT_UPDATE_PARAMS,
    SUBSCRIPTION_CREATE_PARAMS,
    SUBSCRIPTION_UPDATE_PARAMS,
    add_interval,
    customer_changes,
    diff,
    merge_metadata,
    new_customer,
    new_price,
    new_product,
    price_changes,
    product_changes,
    subscription_changes,
)

EVENT_RETENTION_SECONDS = 30 * 24 * 3600
SUBSCRIPTION_STATUSES = frozenset(
    {"incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"}
)
_ALPHABET = string.ascii_letters + string.digits


class Store:
    """Stripe objects by id with insertion order, an event log and a clock tests can move."""

    def __init__(self, rng_seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(rng_seed)
        self.objects: dict[str, dict[str, Any]] = {}
        self.kinds: dict[str, dict[str, dict[str, Any]]] = {}
        self.order: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []
        self.clock_offset = 0
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.subscriptions_by_customer: dict[str, list[dict[str, Any]]] = {}
        # The API request being served: events it causes carry it. Outside edits (a dashboard user) carry nulls.
        self.request: dict[str, str | None] = {"id": None, "idempotency_key": None}
        self.version = 0  # bumped on every write: list caches are valid for one version
        self.list_cache: dict[str, tuple[int, Any]] = {}
        self._seq = 0

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def new_id(self, prefix: str) -> str:
        with self.lock:
            while True:
                candidate = f"{prefix}_{''.join(self.rng.choice(_ALPHABET) for _ in range(14))}"
                if candidate not in self.objects:
                    return candidate

    def _put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        if obj["id"] not in self.order:
            self._seq += 1
            self.order[obj["id"]] = self._seq
        self.objects[obj["id"]] = obj
        self.kinds.setdefault(obj["object"], {})[obj["id"]] = obj
        return obj

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return list(self.kinds.get(kind, {}).values())

    def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]:
        """A customer's subscriptions of every status (an index: listings must not scan them all per customer)."""
        return list(self.subscriptions_by_customer.get(customer_id, []))

    def get(self, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != kind:
            raise missing(kind, object_id, param)
        return obj

    def emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        """Record an event as Stripe does on every change, and hand it to webhook listeners."""
        data: dict[str, Any] = {"object": deepcopy(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self._event_time(event_type, obj),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(self.listeners),
            "request": dict(self.request),
            "type": event_type,
        }
        self._put(event)
        self.events.append(event)
        for listener in self.listeners:
            listener(event)

    def _event_time(self, event_type: str, obj: dict[str, Any]) -> int:
        """Creation events carry the object's own time (seeded customers are backdated)."""
        if event_type.endswith(".created") and obj.get("created"):
            return int(obj["created"])
        return self.now()

    def live_events(self) -> list[dict[str, Any]]:
        """Events Stripe still keeps (30 days)."""
        return [e for e in self.events if self.is_live_event(e)]

    def is_live_event(self, event: dict[str, Any]) -> bool:
        return int(event["created"]) >= self.now() - EVENT_RETENTION_SECONDS

    # customers

    def create_customer(self, params: dict[str, Any], created: int | None = None) -> dict[str, Any]:
        with self.lock:
            changes = customer_changes(params)
            customer = new_customer(self.new_id("cus"), created or self.now())
            customer.update(changes)
            customer["metadata"] = merge_metadata({}, params.get("metadata", {}))
            self._put(customer)
            self.emit("customer.created", customer)
            return deepcopy(customer)

    def update_customer(self, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            customer = self._live_customer(customer_id)
            changes = customer_changes(params)
            if "metadata" in params:
                changes["metadata"] = merge_metadata(customer["metadata"], params["metadata"])
            before = deepcopy(customer)
            customer.update(changes)
            previous = diff(before, customer)
            if previous:
                self.emit("customer.updated", customer, previous)
            return deepcopy(customer)

    def delete_customer(self, customer_id: str) -> dict[str, Any]:
        with self.lock:
            customer = self._live_customer(customer_id)
            for subscription in self.subscriptions_of(customer_id):
                if subscription["status"] != "canceled":
                    self.cancel_subscription(subscription["id"])
            self.emit("customer.deleted", customer)
            self._put({"id": customer_id, "object": "customer", "deleted": True})
            return {"id": customer_id, "object": "customer", "deleted": True}

    def _live_customer(self, customer_id: str, param: str = "id") -> dict[str, Any]:
        customer = self.get("customer", customer_id, param)
        if customer.get("deleted"):
            raise missing("customer", customer_id, param)
        return customer

    # products and prices

    def create_product(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            product_id = params.pop("id", None) or self.new_id("prod")
            if product_id in self.objects:
                raise ApiError(400, f"Product already exists: {product_id}", code="resource_already_exists")
            product = self._put(new_product(product_id, params, self.now()))
            self.emit("product.created", product)
            return deepcopy(product)

    def update_product(self, product_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            product = self.get("product", product_id)
            changes = product_changes({k: v for k, v in params.items() if k != "metadata"},
                                      PRODUCT_UPDATE_PARAMS - {"metadata"})
            if changes.get("default_price"):
                self.get("price", changes["default_price"], "default_price")
            return self._update(product, changes, params.get("metadata"), "product.updated")

    def update_price(self, price_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            price = self.get("price", price_id)
            changes = price_changes({k: v for k, v in params.items() if k != "metadata"},
                                    PRICE_UPDATE_PARAMS - {"metadata"})
            return self._update(price, changes, params.get("metadata"), "price.updated")

    def _update(self, obj: dict[str, Any], changes: dict[str, Any], metadata: Any, event: str) -> dict[str, Any]:
        """Apply changes (metadata merged), stamp `updated` where the object has it, emit only on change."""
        before = deepcopy(obj)
        if metadata is not None:
            changes["metadata"] = merge_metadata(obj["metadata"], metadata)
        obj.update(changes)
        previous = diff(before, obj)
        if previous:
            if "updated" in obj:
                obj["updated"] = self.now()
                previous["updated"] = before["updated"]
            self._put(obj)
            self.emit(event, obj, previous)
        return deepcopy(obj)

    def create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if "product_data" in params:
                product_id = self.create_product(dict(params["product_data"]))["id"]
            elif "product" in params:
                product_id = self.get("product", params["product"], "product")["id"]
            else:
                raise bad_param("product", "Missing required param: product.", code="parameter_missing")
            price = self._put(new_price(self.new_id("price"), params, product_id, self.now()))
            self.emit("price.created", price)
            return deepcopy(price)

    # subscriptions

    def create_subscription(self, params: dict[str, Any], created: int | None = None) -> dict[str, Any]:
        """A subscription; `created` backdates it (seeding only, not an API parameter)."""
        with self.lock:
            changes = subscription_changes(params, SUBSCRIPTION_CREATE_PARAMS)
            customer = self._live_customer(str(params.get("customer", "")), "customer")
            items = params.get("items") or []
            if not items:
                raise bad_param("items", "Missing required param: items.", code="parameter_missing")
            now = created or self.now()
            trial_days = int(params.get("trial_period_days") or 0)
            status = "trialing" if trial_days else "active"
            sub_id = self.new_id("sub")
            sub_items = [self._item(sub_id, item, index, now, trial_days) for index, item in enumerate(items)]
            subscription = {
                "id": sub_id,
                "object": "subscription",
                "billing_cycle_anchor": now,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "collection_method": "charge_automatically",
                "days_until_due": None,
                "default_payment_method": None,
                "description": None,
                "discounts": [],
                "latest_invoice": None,
                "pause_collection": None,
                "created": now,
                "currency": sub_items[0]["price"]["currency"],
                "customer": customer["id"],
                "ended_at": None,
                "items": {
                    "object": "list",
                    "data": sub_items,
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={sub_id}",
                },
                "livemode": False,
                "metadata": dict(params.get("metadata") or {}),
                "start_date": now,
                "status": status,
                "trial_end": now + trial_days * 86400 if trial_days else None,
                "trial_start": now if trial_days else None,
                **changes,
            }
            subscription["metadata"] = merge_metadata({}, params.get("metadata") or {})
            self._put(subscription)
            self.subscriptions_by_customer.setdefault(customer["id"], []).append(subscription)
            self.emit("customer.subscription.created", subscription)
            return deepcopy(subscription)

    def _item(self, sub_id: str, item: dict[str, Any], index: int, now: int, trial_days: int) -> dict[str, Any]:
        price = deepcopy(self.get("price", str(item.get("price", "")), f"items[{index}][price]"))
        recurring = price.get("recurring")
        if not recurring:
            raise bad_param(f"items[{index}][price]", "The price specified is not recurring.")
        end = add_interval(now, recurring["interval"], recurring["interval_count"])
        if trial_days:
            end = now + trial_days * 86400
        return {
            "id": self.new_id("si"),
            "object": "subscription_item",
            "created": now,
            "current_period_end": end,
            "current_period_start": now,
            "metadata": {},
            "price": price,
            "quantity": int(item.get("quantity") or 1),
            "subscription": sub_id,
        }

    def update_subscription(self, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Metadata, description, collection and cancel-at-period-end; item changes are not implemented."""
        with self.lock:
            subscription = self.get("subscription", sub_id)
            if subscription["status"] == "canceled" and set(params) - {"metadata", "expand"}:
                message = "A canceled subscription can only update its cancellation_details and metadata."
                raise ApiError(400, message, code="subscription_canceled")
            changes = subscription_changes({k: v for k, v in params.items() if k != "metadata"},
                                           SUBSCRIPTION_UPDATE_PARAMS - {"metadata"})
            if changes.get("cancel_at_period_end") is not None:
                ends = subscription["items"]["data"][0]["current_period_end"]
                changes["cancel_at"] = ends if changes["cancel_at_period_end"] else None
            return self._update(subscription, changes, params.get("metadata"), "customer.subscription.updated")

    def set_subscription_status(self, sub_id: str, status: str) -> dict[str, Any]:
        """What payments would do to a subscription (past_due, unpaid, ...); the sandbox has no payments."""
        if status not in SUBSCRIPTION_STATUSES:
            raise bad_param("status", f"Invalid status: {status}")
        with self.lock:
            subscription = self.get("subscription", sub_id)
            previous = {"status": subscription["status"]}
            subscription["status"] = status
            self.emit("customer.subscription.updated", subscription, previous)
            return deepcopy(subscription)

    def cancel_subscription(self, sub_id: str) -> dict[str, Any]:
        with self.lock:
            subscription = self.get("subscription", sub_id)
            if subscription["status"] == "canceled":
                message = "A canceled subscription can only update its cancellation_details and metadata."
                raise ApiError(400, message, code="subscription_canceled")
            now = self.now()
            subscription.update({"status": "canceled", "canceled_at": now, "ended_at": now})
            self.emit("customer.subscription.deleted", subscription)
            return deepcopy(subscription)
