"""The sandbox's documented response shapes, over plain HTTP: what any Stripe client would see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.stripe.sandbox import StripeSandbox
from connectors.stripe.sandbox.forms import decode
from engine.sandbox import Knobs, SandboxServer


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[httpx.Client, StripeSandbox, SandboxServer]]:
    sandbox = StripeSandbox(seed=15, rng_seed=1)
    with SandboxServer(sandbox) as server:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        with httpx.Client(base_url=server.base_url, headers=headers) as client:
            yield client, sandbox, server


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("metadata[plan]=pro&name=Ada", {"metadata": {"plan": "pro"}, "name": "Ada"}),
        ("expand[]=a&expand[]=b", {"expand": ["a", "b"]}),
        ("expand[0]=a&expand[1]=b", {"expand": ["a", "b"]}),
        ("items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2",
         {"items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}]}),
        ("created[gte]=10&created[lt]=20", {"created": {"gte": "10", "lt": "20"}}),
        ("address[city]=&metadata[k]=", {"address": {"city": ""}, "metadata": {"k": ""}}),
    ],
)
def test_form_bracket_decoding(encoded: str, decoded: dict[str, Any]) -> None:
    assert decode(encoded) == decoded


def test_list_envelope_and_pagination(api) -> None:
    client, _, _ = api
    first = client.get("/v1/customers", params={"limit": 10}).json()
    assert set(first) == {"object", "data", "has_more", "url"} and first["object"] == "list"
    assert first["has_more"] and len(first["data"]) == 10 and first["url"] == "/v1/customers"
    created = [c["created"] for c in first["data"]]
    assert created == sorted(created, reverse=True), "newest first"
    rest = client.get("/v1/customers", params={"limit": 100, "starting_after": first["data"][-1]["id"]}).json()
    assert not rest["has_more"] and len(rest["data"]) == 5
    back = client.get("/v1/customers", params={"limit": 3, "ending_before": rest["data"][0]["id"]}).json()
    assert [c["id"] for c in back["data"]] == [c["id"] for c in first["data"][-3:]]


def test_created_range_and_email_filters(api) -> None:
    client, sandbox, _ = api
    customer = sandbox.records()[0]
    by_email = client.get("/v1/customers", params={"email": customer["email"]}).json()["data"]
    assert [c["id"] for c in by_email] == [customer["id"]]
    created = client.get(f"/v1/customers/{customer['id']}").json()["created"]
    window = {"created[gte]": created, "created[lt]": created + 1, "limit": 100}
    assert customer["id"] in [c["id"] for c in client.get("/v1/customers", params=window).json()["data"]]


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "error"),
    [
        ("GET", "/v1/customers/cus_missing", None, 404,
         {"type": "invalid_request_error", "code": "resource_missing", "param": "id"}),
        ("POST", "/v1/customers", {"email": "nope"}, 400,
         {"type": "invalid_request_error", "code": "email_invalid", "param": "email"}),
        ("POST", "/v1/customers", {"colour": "red"}, 400, {"code": "parameter_unknown", "param": "colour"}),
        ("GET", "/v1/customers?limit=500", None, 400, {"param": "limit"}),
        ("GET", "/v1/customers?expand[]=data.a.b.c.d.e", None, 400, {"param": "expand"}),
    ],
)
def test_error_envelope(api, method: str, path: str, data: dict[str, str] | None, status: int, error: dict) -> None:
    client, _, _ = api
    response = client.request(method, path, data=data)
    assert response.status_code == status
    body = response.json()["error"]
    assert body["message"] and {k: body.get(k) for k in error} == error
    assert response.headers["request-id"].startswith("req_")


@pytest.mark.parametrize("authorization", [None, "Bearer sk_test_notthekey1234"])
def test_bad_or_missing_key_is_401_without_echoing_it(api, authorization: str | None) -> None:
    _, _, server = api
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{server.base_url}/v1/customers", headers=headers)
    assert response.status_code == 401 and response.json()["error"]["type"] == "invalid_request_error"
    assert "notthekey" not in response.text


def test_idempotency_replay_and_mismatch(api) -> None:
    client, _, _ = api
    key = {"Idempotency-Key": "create-once-1"}
    first = client.post("/v1/customers", data={"email": "idem@example.com"}, headers=key)
    again = client.post("/v1/customers", data={"email": "idem@example.com"}, headers=key)
    other = client.post("/v1/customers", data={"email": "other@example.com"}, headers=key)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


def test_expand_and_subscription_shapes(api) -> None:
    client, sandbox, _ = api
    customer = sandbox.add_record({"email": "expand@example.com"})
    price = sandbox.store.of_kind("price")[0]
    created = client.post("/v1/subscriptions", data={"customer": customer, "items[0][price]": price["id"],
                                                      "items[0][quantity]": "3"}).json()
    item = created["items"]["data"][0]
    assert (created["object"], created["status"], item["quantity"]) == ("subscription", "active", 3)
    assert item["current_period_end"] > item["current_period_start"], "periods live on the items"
    too_deep = client.get("/v1/subscriptions", params={"expand[]": "data.items.data.price.product"})
    assert too_deep.json()["error"]["code"] == "property_expansion_max_depth", "Stripe counts `data` as a level"
    listed = client.get("/v1/subscriptions", params={"customer": customer, "expand[]": "data.customer"}).json()
    assert listed["data"][0]["customer"]["id"] == customer
    with_subs = client.get(f"/v1/customers/{customer}", params={"expand[]": "subscriptions"}).json()
    assert [s["id"] for s in with_subs["subscriptions"]["data"]] == [created["id"]]
    canceled = client.delete(f"/v1/subscriptions/{created['id']}").json()
    assert canceled["status"] == "canceled"
    assert client.get("/v1/subscriptions", params={"customer": customer}).json()["data"] == []
    assert len(client.get("/v1/subscriptions", params={"customer": customer, "status": "all"}).json()["data"]) == 1


def test_every_change_makes_an_event(api) -> None:
    client, sandbox, _ = api
    customer = sandbox.add_record({"email": "events@example.com"})
    client.post(f"/v1/customers/{customer}", data={"name": "Evented"})
    client.delete(f"/v1/customers/{customer}")
    events = client.get("/v1/events", params={"type": "customer.*", "limit": 3}).json()["data"]
    assert [e["type"] for e in events] == ["customer.deleted", "customer.updated", "customer.created"]
    assert events[1]["data"]["previous_attributes"] == {"name": None}
    assert client.get(f"/v1/customers/{customer}").json() == {"id": customer, "object": "customer", "deleted": True}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("email:'{email}'", 1),
        ("name~'{fragment}'", None),
        ("metadata['segment']:'{segment}'", None),
    ],
)
def test_search(api, query: str, expected: int | None) -> None:
    client, sandbox, _ = api
    customer = sandbox.records()[0]
    text = query.format(email=customer["email"], fragment=customer["name"][:3],
                        segment=customer["metadata.segment"])
    body = client.get("/v1/customers/search", params={"query": text, "limit": 100}).json()
    assert body["object"] == "search_result" and customer["id"] in [c["id"] for c in body["data"]]
    if expected is not None:
        assert len(body["data"]) == expected


def test_rate_limit_answers_429_with_stripe_should_retry() -> None:
    sandbox = StripeSandbox()
    with SandboxServer(sandbox, knobs=Knobs(rate_limit=1.0)) as server:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        responses = [httpx.get(f"{server.base_url}/v1/customers", headers=headers) for _ in range(3)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited and limited[0].headers["stripe-should-retry"] == "true"
    assert limited[0].json()["error"]["code"] == "rate_limit" and "retry-after" in limited[0].headers
