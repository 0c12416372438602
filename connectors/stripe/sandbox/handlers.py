"""One function per Stripe endpoint the sandbox speaks: params in, Stripe object or list out."""

from __future__ import annotations

import fnmatch
from copy import deepcopy
from typing import Any

from . import search
from .errors import ApiError, missing
from .query import ordered_cached, page, search_page
from .store import SUBSCRIPTION_STATUSES, Store

Params = dict[str, Any]
Path = dict[str, str]


def _list_params(params: Params, extra: tuple[str, ...] = ()) -> Params:
    allowed = {"limit", "starting_after", "ending_before", "created", *extra}
    for name in params:
        if name not in allowed:
            raise ApiError(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)
    return params


def _boolean(params: Params, name: str) -> bool | None:
    if name not in params:
        return None
    value = params[name]
    if value not in ("true", "false"):
        raise ApiError(400, f"Invalid boolean: {value}", code="parameter_invalid", param=name)
    return bool(value == "true")


def _strings(params: Params, name: str) -> list[str] | None:
    if name not in params:
        return None
    value = params[name]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def search_customers(store: Store, params: Params, path: Path) -> dict[str, Any]:
    live = [c for c in store.of_kind("customer") if not c.get("deleted")]
    return search_page(store, live, params, "/v1/customers/search", search.CUSTOMER_FIELDS)


def search_products(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return search_page(store, store.of_kind("product"), params, "/v1/products/search", search.PRODUCT_FIELDS)


def search_prices(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return search_page(store, store.of_kind("price"), params, "/v1/prices/search", search.PRICE_FIELDS)


def search_subscriptions(store: Store, params: Params, path: Path) -> dict[str, Any]:
    subs = store.of_kind("subscription")
    return search_page(store, subs, params, "/v1/subscriptions/search", search.SUBSCRIPTION_FIELDS)


def list_customers(store: Store, params: Params, path: Path) -> dict[str, Any]:
    _list_params(params, ("email", "test_clock"))
    if params.get("test_clock"):  # the sandbox has no test clocks
        raise missing("test_clock", str(params["test_clock"]), "test_clock")
    if "email" in params:
        matching = [c for c in store.of_kind("customer") if not c.get("deleted") and c.get("email") == params["email"]]
        return page(store, matching, params, "/v1/customers")
    live = ordered_cached(store, "customers", lambda: [c for c in store.of_kind("customer") if not c.get("deleted")])
    return page(store, live, params, "/v1/customers")


def create_customer(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.create_customer(params)


def retrieve_customer(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return deepcopy(store.get("customer", path["id"]))


def update_customer(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.update_customer(path["id"], params)


def delete_customer(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.delete_customer(path["id"])


def list_products(store: Store, params: Params, path: Path) -> dict[str, Any]:
    """Filters `active`, `ids`, `shippable` and `url`, as the API reference lists them."""
    _list_params(params, ("active", "ids", "shippable", "url"))
    products = store.of_kind("product")
    active, shippable, ids = _boolean(params, "active"), _boolean(params, "shippable"), _strings(params, "ids")
    if active is not None:
        products = [p for p in products if p["active"] is active]
    if shippable is not None:
        products = [p for p in products if p.get("shippable") is shippable]
    if ids is not None:
        products = [p for p in products if p["id"] in ids]
    if "url" in params:
        products = [p for p in products if p.get("url") == params["url"]]
    return page(store, products, params, "/v1/products")


def create_product(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.create_product(params)


def update_product(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.update_product(path["id"], params)


def update_price(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.update_price(path["id"], params)


def retrieve_product(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return deepcopy(store.get("product", path["id"]))


def list_prices(store: Store, params: Params, path: Path) -> dict[str, Any]:
    """Filters `product`, `active`, `type`, `currency`, `lookup_keys` and `recurring`, as documented."""
    _list_params(params, ("product", "active", "type", "currency", "lookup_keys", "recurring"))
    prices = store.of_kind("price")
    if "product" in params:
        prices = [p for p in prices if p["product"] == params["product"]]
    active = _boolean(params, "active")
    if active is not None:
        prices = [p for p in prices if p["active"] is active]
    if "type" in params:
        if params["type"] not in ("one_time", "recurring"):
            raise ApiError(400, f"Invalid type: {params['type']}", code="parameter_invalid", param="type")
        prices = [p for p in prices if p["type"] == params["type"]]
    if "currency" in params:
        prices = [p for p in prices if p["currency"] == str(params["currency"]).lower()]
    keys = _strings(params, "lookup_keys")
    if keys is not None:
        prices = [p for p in prices if p.get("lookup_key") in keys]
    recurring = params.get("recurring")
    if isinstance(recurring, dict):
        for key in recurring:
            if key not in ("interval", "meter", "usage_type"):
                raise ApiError(400, f"Received unknown parameter: recurring[{key}]", code="parameter_unknown",
                               param=f"recurring[{key}]")
        prices = [p for p in prices if p["recurring"] is not None
                  and all(p["recurring"].get(k) == v for k, v in recurring.items())]
    return page(store, prices, params, "/v1/prices")


def create_price(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.create_price(params)


def retrieve_price(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return deepcopy(store.get("price", path["id"]))


def list_subscriptions(store: Store, params: Params, path: Path) -> dict[str, Any]:
    """By default only subscriptions that have not been canceled, as Stripe lists them."""
    _list_params(params, ("customer", "price", "status", "collection_method"))
    status = params.get("status")
    if status is not None and status != "all" and status not in SUBSCRIPTION_STATUSES and status != "ended":
        raise ApiError(400, f"Invalid status: must be one of {sorted(SUBSCRIPTION_STATUSES)}", param="status")
    if "customer" not in params and "price" not in params and "collection_method" not in params:
        every = store.of_kind("subscription")
        subs = ordered_cached(store, f"subscriptions:{status}", lambda: _with_status(every, status))
        return page(store, subs, params, "/v1/subscriptions")
    found = store.subscriptions_of(params["customer"]) if "customer" in params else store.of_kind("subscription")
    found = _with_status(found, status)
    if "collection_method" in params:
        found = [s for s in found if s.get("collection_method") == params["collection_method"]]
    if "price" in params:
        found = [s for s in found if any(i["price"]["id"] == params["price"] for i in s["items"]["data"])]
    return page(store, found, params, "/v1/subscriptions")


def _with_status(subs: list[dict[str, Any]], status: Any) -> list[dict[str, Any]]:
    if status is None:
        return [s for s in subs if s["status"] != "canceled"]
    return subs if status == "all" else [s for s in subs if s["status"] == status]


def create_subscription(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.create_subscription(params)


def retrieve_subscription(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return deepcopy(store.get("subscription", path["id"]))


def update_subscription(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.update_subscription(path["id"], params)


def cancel_subscription(store: Store, params: Params, path: Path) -> dict[str, Any]:
    return store.cancel_subscription(path["id"])


def list_events(store: Store, params: Params, path: Path) -> dict[str, Any]:
    """Events of the last 30 days, filtered by `type` (with `*` wildcards) or `types[]`."""
    _list_params(params, ("type", "types", "delivery_success"))
    events = store.live_events()
    if "type" in params and "types" in params:
        raise ApiError(400, "You may only specify one of these parameters: type, types.", param="types")
    if "type" in params:
        events = [e for e in events if fnmatch.fnmatchcase(e["type"], str(params["type"]))]
    if "types" in params:
        wanted = params["types"] if isinstance(params["types"], list) else [params["types"]]
        if len(wanted) > 20:
            raise ApiError(400, "types may contain at most 20 event types", param="types")
        events = [e for e in events if e["type"] in wanted]
    return page(store, events, params, "/v1/events")


def retrieve_event(store: Store, params: Params, path: Path) -> dict[str, Any]:
    event = store.objects.get(path["id"])
    if event is None or event.get("object") != "event" or not store.is_live_event(event):
        raise missing("event", path["id"])
    return deepcopy(event)
