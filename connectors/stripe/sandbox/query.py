"""Lists, `expand[]` and customer search as Stripe answers them."""

from __future__ import annotations

import base64
import bisect
import math
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_param, unknown_param
from .search import matcher
from .store import Store

MAX_EXPAND_DEPTH = 4  # dot-separated parts, `data` included: Stripe refuses data.items.data.price.product
EMBEDDED_LIST_LIMIT = 10  # subscriptions embedded in an expanded customer; `has_more` says there are others
RANGE_OPS = frozenset({"gt", "gte", "lt", "lte"})


def _int(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_param(param, f"Invalid integer: {value}") from None


def limit_of(params: dict[str, Any]) -> int:
    limit = _int(params.get("limit", 10), "limit")
    if not 1 <= limit <= 100:
        raise bad_param("limit", "This value must be greater than or equal to 1 and less than or equal to 100.")
    return limit


@dataclass(frozen=True)
class Ordered:
    """Objects newest first, with their sort keys negated (so ascending) for bisecting pages and ranges."""

    objects: list[dict[str, Any]]
    keys: list[tuple[int, int]]


def order_key(store: Store, obj: dict[str, Any]) -> tuple[int, int]:
    """Newest first: creation time, then creation order (a deleted customer keeps its place at time 0)."""
    return (-int(obj.get("created") or 0), -store.order[obj["id"]])


def ordered(store: Store, items: list[dict[str, Any]]) -> Ordered:
    objects = sorted(items, key=lambda obj: order_key(store, obj))
    return Ordered(objects, [order_key(store, obj) for obj in objects])


def ordered_cached(store: Store, name: str, items: Callable[[], list[dict[str, Any]]]) -> Ordered:
    """An ordered listing kept until the next write: paging 100,000 customers must not sort them per page."""
    cached = store.list_cache.get(name)
    if cached is None or cached[0] != store.version:
        cached = (store.version, ordered(store, items()))
        store.list_cache[name] = cached
    return cached[1]


def created_bounds(value: Any) -> tuple[float, float]:
    """`created=T` or `created[gt|gte|lt|lte]=T` as an inclusive [low, high] range."""
    if not isinstance(value, dict):
        exact = _int(value, "created")
        return exact, exact
    low, high = -math.inf, math.inf
    for op, bound in value.items():
        if op not in RANGE_OPS:
            raise bad_param(f"created[{op}]", f"Received unknown parameter: created[{op}]", "parameter_unknown")
        number = _int(bound, f"created[{op}]")
        if op in ("gt", "gte"):
            low = max(low, number + (op == "gt"))
        else:
            high = min(high, number - (op == "lt"))
    return low, high


def page(
    store: Store, items: list[dict[str, Any]] | Ordered, params: dict[str, Any], url: str
) -> dict[str, Any]:
    """Newest first; `starting_after` pages towards older objects, `ending_before` towards newer ones."""
    view = items if isinstance(items, Ordered) else ordered(store, items)
    start, end = 0, len(view.keys)
    if "created" in params:
        low, high = created_bounds(params["created"])
        start = bisect.bisect_left(view.keys, (-high, -math.inf))
        end = max(start, bisect.bisect_right(view.keys, (-low, math.inf)))
    limit = limit_of(params)
    if params.get("starting_after") and params.get("ending_before"):
        raise ApiError(400, "You may only specify one of these parameters: ending_before, starting_after.")
    if params.get("starting_after"):
        anchor = order_key(store, _anchor(store, params["starting_after"], "starting_after"))
        start = max(start, bisect.bisect_right(view.keys, anchor))
        data, has_more = view.objects[start : min(end, start + limit)], end - start > limit
    elif params.get("ending_before"):
        anchor = order_key(store, _anchor(store, params["ending_before"], "ending_before"))
        end = min(end, bisect.bisect_left(view.keys, anchor))
        data, has_more = view.objects[max(start, end - limit) : end], end - start > limit
    else:
        data, has_more = view.objects[start : min(end, start + limit)], end - start > limit
    return {"object": "list", "data": deepcopy(data), "has_more": has_more, "url": url}


def _anchor(store: Store, object_id: str, param: str) -> dict[str, Any]:
    obj = store.objects.get(object_id)
    if obj is None or (obj.get("object") == "event" and not store.is_live_event(obj)):
        kind = obj.get("object", "object") if obj else "object"
        raise ApiError(400, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)
    if "created" not in obj:  # a deleted customer keeps its place
        obj = {**obj, "created": 0}
    return obj


def expand(store: Store, obj: dict[str, Any], paths: Any) -> dict[str, Any]:
    """Replace ids with objects along each `expand[]` path (at most four levels).

    A search result holds its `total_count` only when `expand[]=total_count` asks for it, as at Stripe.
    """
    wanted = paths if isinstance(paths, list) else [paths]
    if obj.get("object") == "search_result":
        total = obj.pop("total_count", None)
        if "total_count" in wanted:
            obj["total_count"] = total
            wanted = [p for p in wanted if p != "total_count"]
    for path in wanted:
        parts = str(path).split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            message = f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. Property: {path}"
            raise bad_param("expand", message, code="property_expansion_max_depth")
        _expand(store, obj, parts, str(path))
    return obj


def _expand(store: Store, node: Any, parts: list[str], path: str) -> None:
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict) and node.get("object") == "list" and head == "data":
        for item in node["data"]:
            _expand(store, item, rest, path)
        return
    if not isinstance(node, dict):
        raise bad_param("expand", f"This property cannot be expanded ({head}).")
    if head == "subscriptions" and node.get("object") == "customer" and not node.get("deleted"):
        node["subscriptions"] = customer_subscriptions(store, node["id"])
    elif head in CUSTOMER_INCLUDABLE and node.get("object") == "customer" and not node.get("deleted"):
        node[head] = CUSTOMER_INCLUDABLE[head](node["id"])
    value = node.get(head)
    if isinstance(value, str) and value in store.objects:
        node[head] = deepcopy(store.objects[value])
    elif value is not None and not isinstance(value, dict):
        raise bad_param("expand", f"This property cannot be expanded ({head}).")
    _expand(store, node.get(head), rest, path)


def _empty_list(kind: str) -> Callable[[str], dict[str, Any]]:
    return lambda customer_id: {"object": "list", "data": [], "has_more": False,
                                "url": f"/v1/customers/{customer_id}/{kind}"}


# The customer's other includable properties (the reference's "expandable" ones): the sandbox holds no payment
# sources, tax ids or balances, so they come back empty, in their documented shapes.
CUSTOMER_INCLUDABLE: dict[str, Callable[[str], Any]] = {
    "sources": _empty_list("sources"),
    "tax_ids": _empty_list("tax_ids"),
    "tax": lambda _id: {"automatic_tax": "unrecognized_location", "ip_address": None, "location": None,
                        "provider": "stripe"},
    "cash_balance": lambda customer_id: {"object": "cash_balance", "available": None, "customer": customer_id,
                                         "livemode": False,
                                         "settings": {"reconciliation_mode": "automatic",
                                                      "using_merchant_default": True}},
    "invoice_credit_balance": lambda _id: {},
}


def customer_subscriptions(store: Store, customer_id: str) -> dict[str, Any]:
    """The customer's `subscriptions` include: its subscriptions that have not ended."""
    subs = [s for s in store.subscriptions_of(customer_id) if s["status"] != "canceled"]
    return page(store, subs, {"limit": EMBEDDED_LIST_LIMIT}, f"/v1/customers/{customer_id}/subscriptions")


def search_page(
    store: Store, items: list[dict[str, Any]], params: dict[str, Any], url: str, fields: dict[str, str]
) -> dict[str, Any]:
    """A search_result page; `page` is an opaque token for the next one."""
    for name in params:
        if name not in ("query", "limit", "page"):
            raise unknown_param(name)
    check = matcher(str(params.get("query", "")), fields)
    matches = [obj for obj in items if check(obj)]
    matches.sort(key=lambda obj: (int(obj["created"]), store.order[obj["id"]]), reverse=True)
    limit = limit_of(params)
    start = 0
    if params.get("page"):
        try:
            start = int(base64.urlsafe_b64decode(str(params["page"]).encode()).decode())
        except ValueError:
            raise bad_param("page", "Invalid page token.") from None
    data = matches[start : start + limit]
    more = start + limit < len(matches)
    token = base64.urlsafe_b64encode(str(start + limit).encode()).decode() if more else None
    return {"object": "search_result", "data": deepcopy(data), "has_more": more, "next_page": token, "url": url,
            "total_count": len(matches)}
