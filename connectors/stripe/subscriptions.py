"""A customer's subscriptions for the derived fields, at one request per customer or page of customers.

A customer read or written with `expand[]=subscriptions` carries its current
(not canceled) subscriptions, items and prices included; Stripe's depth limit
(four dot-separated parts, `data` counted) rules out expanding products
further, so product names come from a catalogue read once per connector.
Canceled subscriptions matter only to a customer with no current one (its
status is then `canceled`, stage churned): for those a full listing uses one
listing of canceled subscriptions, a single read one `limit=1` probe.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import stripe

from .derived import LIVE_STATUSES
from .pagination import PAGE_SIZE, list_all, raw_lister

if TYPE_CHECKING:
    from stripe.params import SubscriptionListParams

Sub = dict[str, Any]
CUSTOMER_EXPAND = ["subscriptions"]
LIST_EXPAND = ["data.subscriptions"]


def owner_of(subscription: Mapping[str, Any]) -> str:
    owner = subscription.get("customer")
    return str(owner.get("id") if isinstance(owner, Mapping) else owner)


class Catalogue:
    """Product names by id: the product list once, then single products Stripe adds while we run."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.products: dict[str, dict[str, Any]] = {}
        self.loaded = False
        self.lock = asyncio.Lock()

    async def stitch(self, subscriptions: Iterable[Sub]) -> None:
        """Replace each live item's `price.product` id with the product (id, name), in place (plans name them)."""
        live = [sub for sub in subscriptions if sub.get("status") in LIVE_STATUSES]
        prices = [item.get("price") or {} for sub in live for item in (sub.get("items") or {}).get("data", [])]
        wanted = {str(p["product"]) for p in prices if isinstance(p.get("product"), str)}
        await self._ensure(wanted)
        for price in prices:
            product = price.get("product")
            if isinstance(product, str) and product in self.products:
                price["product"] = self.products[product]

    async def _ensure(self, wanted: set[str]) -> None:
        async with self.lock:
            if not wanted - self.products.keys():
                return
            if not self.loaded:
                self.loaded = True
                for product in await list_all(self.client.v1.products.list_async, {"limit": PAGE_SIZE}):
                    self._keep(product)
            missing = wanted - self.products.keys()
            for one in await asyncio.gather(*(self._one(pid) for pid in missing)):
                if one is not None:
                    self._keep(one)

    async def _one(self, product_id: str) -> dict[str, Any] | None:
        try:
            return (await self.client.v1.products.retrieve_async(product_id)).to_dict()
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None  # a deleted product: the plan keeps its id without a name
            raise

    def _keep(self, product: Mapping[str, Any]) -> None:
        self.products[str(product["id"])] = {"id": product["id"], "object": "product", "name": product.get("name")}


class SubscriptionReader:
    """Turns a customer read with `expand[]=subscriptions` into the subscriptions its derived fields need."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.catalogue = Catalogue(client)

    async def of(self, customer: dict[str, Any], canceled: Mapping[str, list[Sub]] | None = None) -> list[Sub]:
        """The customer's subscriptions; `canceled` (from a full listing) spares the probe for one without any."""
        embedded = customer.pop("subscriptions", None) or {}
        found: list[Sub] = list(embedded.get("data") or [])
        if embedded.get("has_more"):
            found = await self.listed(str(customer["id"]))
        elif not found and canceled is not None:
            found = canceled.get(str(customer["id"]), [])
        elif not found:
            found = await self._canceled_one(customer)
        await self.catalogue.stitch(found)
        return found

    async def listed(self, customer_id: str) -> list[Sub]:
        """Every subscription of one customer (more than the embedded list holds)."""
        params = {"customer": customer_id, "status": "all", "limit": PAGE_SIZE}
        return await list_all(self.client.v1.subscriptions.list_async, params)

    async def _canceled_one(self, customer: Mapping[str, Any]) -> list[Sub]:
        params: SubscriptionListParams = {"customer": str(customer["id"]), "status": "canceled", "limit": 1}
        return [s.to_dict() for s in (await self.client.v1.subscriptions.list_async(params)).data]

    async def canceled_by_customer(self) -> dict[str, list[Sub]]:
        """All canceled subscriptions, grouped by customer (for a full listing)."""
        method = raw_lister(self.client, "/v1/subscriptions")
        found = await list_all(method, {"status": "canceled", "limit": PAGE_SIZE})
        grouped: dict[str, list[Sub]] = defaultdict(list)
        for subscription in found:
            grouped[owner_of(subscription)].append(subscription)
        return dict(grouped)
