"""The Stripe sandbox driven by clients pairsync did not write.

Two clients: Stripe's official Python SDK used the way its README shows (not
through pairsync's connector), and raw HTTP requests written as the curl
examples of Stripe's API reference send them (form-encoded bodies, `-u KEY:`
Basic auth, `-G -d` query strings). Each case names the reference page it
follows where the behaviour is not obvious.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stripe

from connectors.stripe.sandbox import StripeSandbox
from engine.sandbox import SandboxServer


@pytest.fixture
def sandbox() -> StripeSandbox:
    return StripeSandbox()


@pytest.fixture
def server(sandbox: StripeSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def sdk(sandbox: StripeSandbox, server: SandboxServer) -> stripe.StripeClient:
    """The SDK as a user configures it, pointed at the sandbox instead of Stripe."""
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": server.base_url}, max_network_retries=0)


@pytest.fixture
def curl(sandbox: StripeSandbox, server: SandboxServer) -> Iterator[httpx.Client]:
    """`curl -u sk_test_...:` : HTTP Basic auth with the key as user name and no password."""
    with httpx.Client(base_url=server.base_url, auth=(sandbox.api_key, "")) as client:
        yield client


def test_customer_create_accepts_the_documented_parameters(curl: httpx.Client) -> None:
    # https://docs.stripe.com/api/customers/create
    form = {
        "name": "Jenny Rosen", "email": "jennyrosen@example.com", "preferred_locales[0]": "fr",
        "preferred_locales[1]": "en", "tax_exempt": "reverse", "balance": "-500", "invoice_prefix": "JENNY01",
        "next_invoice_sequence": "7", "invoice_settings[footer]": "Merci",
        "invoice_settings[custom_fields][0][name]": "VAT", "invoice_settings[custom_fields][0][value]": "FR123",
        "shipping[name]": "Jenny Rosen", "shipping[phone]": "+33100000000",
        "shipping[address][line1]": "1 Rue de Rivoli", "shipping[address][city]": "Paris",
        "shipping[address][country]": "FR", "shipping[address][postal_code]": "75001", "metadata[order_id]": "6735",
    }
    created = curl.post("/v1/customers", data=form)
    assert created.status_code == 200, created.text
    customer = created.json()
    assert customer["preferred_locales"] == ["fr", "en"] and customer["tax_exempt"] == "reverse"
    assert customer["balance"] == -500 and customer["invoice_prefix"] == "JENNY01"
    assert customer["next_invoice_sequence"] == 7
    assert customer["invoice_settings"]["footer"] == "Merci"
    assert customer["invoice_settings"]["custom_fields"] == [{"name": "VAT", "value": "FR123"}]
    assert customer["shipping"]["address"]["city"] == "Paris" and customer["shipping"]["name"] == "Jenny Rosen"
    assert curl.get(f"/v1/customers/{customer['id']}").json() == customer


@pytest.mark.parametrize(
    ("form", "param", "code"),
    [
        ({"tax_exempt": "sometimes"}, "tax_exempt", "parameter_invalid"),
        ({"shipping[address][city]": "Paris"}, "shipping[name]", "parameter_missing"),
        ({"invoice_prefix": "lower"}, "invoice_prefix", "parameter_invalid"),
        ({"payment_method": "pm_nowhere"}, "payment_method", "resource_missing"),
        ({"favourite_colour": "blue"}, "favourite_colour", "parameter_unknown"),
    ],
)
def test_customer_create_refuses_what_stripe_refuses(curl: httpx.Client, form: dict[str, str], param: str,
                                                     code: str) -> None:
    answer = curl.post("/v1/customers", data=form)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


def test_events_name_the_request_and_its_idempotency_key(sdk: stripe.StripeClient, curl: httpx.Client) -> None:
    # https://docs.stripe.com/api/events/object#event_object-request: id and idempotency_key of the API request
    # that caused the event; both null for automatic changes (the sandbox's outside edits).
    answer = curl.post("/v1/customers", data={"email": "own@example.com"}, headers={"Idempotency-Key": "key-1"})
    event = sdk.v1.events.list({"type": "customer.created", "limit": 1}).data[0]
    assert event.request is not None
    assert event.request.id == answer.headers["request-id"] and event.request.idempotency_key == "key-1"


def test_outside_edits_make_events_without_a_request(sandbox: StripeSandbox, sdk: stripe.StripeClient) -> None:
    sandbox.add_record({"email": "dashboard@example.com"})
    event = sdk.v1.events.list({"type": "customer.created", "limit": 1}).data[0]
    assert event.request is not None and event.request.id is None and event.request.idempotency_key is None


def test_previous_attributes_carry_only_the_changed_keys(curl: httpx.Client, sdk: stripe.StripeClient) -> None:
    # https://docs.stripe.com/api/events/object#event_object-data-previous_attributes: the prior values of the
    # updated attributes; inside a hash (metadata, address) only the keys that changed, a new key as null.
    form = {"email": "m@example.com", "metadata[plan]": "pro", "metadata[seats]": "3",
            "address[city]": "Ghent", "address[country]": "BE"}
    customer = curl.post("/v1/customers", data=form).json()
    curl.post(f"/v1/customers/{customer['id']}",
              data={"metadata[seats]": "4", "metadata[region]": "eu", "address[city]": "Oslo",
                    "address[country]": "BE"})
    event = sdk.v1.events.list({"type": "customer.updated", "limit": 1}).data[0]
    previous = event.data.previous_attributes
    assert previous is not None
    assert previous.to_dict() == {"metadata": {"seats": "3", "region": None}, "address": {"city": "Ghent"}}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ('email:"ada@example.com"', {"Ada"}),
        ("email:'ada@example.com'", {"Ada"}),
        ('name:"Ada" email:"ada@example.com"', {"Ada"}),
        ('name:"Ada" AND metadata["tier"]:"gold"', {"Ada"}),
        ('name:"Ada" OR name:"Grace"', {"Ada", "Grace"}),
        ('name:"Ada" or name:"Grace"', {"Ada", "Grace"}),
        ('-name:"Ada"', {"Grace", "Alan"}),
        ('metadata["tier"]:"gold" -name:"Ada"', {"Grace"}),
        ('name~"rac"', {"Grace"}),
        ("created>0", {"Ada", "Grace", "Alan"}),
        ('phone:null', {"Grace", "Alan"}),
        ('email:"ADA@EXAMPLE.COM"', {"Ada"}),
    ],
)
def test_customer_search_follows_the_query_language(curl: httpx.Client, query: str, names: set[str]) -> None:
    # https://docs.stripe.com/search#search-query-language
    for name, tier, phone in (("Ada", "gold", "+15550001"), ("Grace", "gold", ""), ("Alan", "silver", "")):
        form = {"name": name, "email": f"{name.lower()}@example.com", "metadata[tier]": tier, "phone": phone}
        assert curl.post("/v1/customers", data=form).status_code == 200
    answer = curl.get("/v1/customers/search", params={"query": query})
    assert answer.status_code == 200, answer.text
    assert {c["name"] for c in answer.json()["data"]} == names


@pytest.mark.parametrize(
    "query",
    [
        'name:"Ada" AND email:"a@x.io" OR name:"Grace"',  # AND and OR never mix
        '(name:"Ada")',  # no parentheses
        'name~"Ad"',  # substring needs 3 characters
        'description:"x"',  # not a customer query field
        "email:ada@example.com",  # strings are quoted
        'created~"123"',  # numbers compare, they do not match substrings
        'email>"a"',  # strings do not compare
        " ".join(f'name:"n{i}"' for i in range(11)),  # at most 10 clauses
    ],
)
def test_unsupported_search_forms_are_refused(curl: httpx.Client, query: str) -> None:
    answer = curl.get("/v1/customers/search", params={"query": query})
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error" and answer.json()["error"]["param"] == "query"


def test_sdk_search_pages_through_every_match(sdk: stripe.StripeClient, sandbox: StripeSandbox) -> None:
    for index in range(7):
        sandbox.add_record({"email": f"page{index}@example.com", "name": "Paged"})
    found = list(sdk.v1.customers.search({"query": 'name:"Paged"', "limit": 3}).auto_paging_iter())
    assert len(found) == 7 and len({c.id for c in found}) == 7


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nowhere"), ("PUT", "/v1/customers"), ("GET", "/v2/customers"), ("PATCH", "/v1/products/x")],
)
def test_unknown_urls_and_methods_answer_stripes_json_error(curl: httpx.Client, method: str, path: str) -> None:
    answer = curl.request(method, path)
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"Unrecognized request URL ({method}: {path})")


def test_sdk_raises_its_own_error_class_for_an_unknown_url(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.raw_request("get", "/v1/nowhere")
    assert raised.value.http_status == 404


def test_product_and_price_list_filters_are_honoured(sdk: stripe.StripeClient) -> None:
    # https://docs.stripe.com/api/products/list (active, ids, shippable) and /api/prices/list (active, type, ...)
    live = sdk.v1.products.create({"name": "Live", "shippable": True})
    retired = sdk.v1.products.create({"name": "Retired"})
    sdk.v1.products.update(retired.id, {"active": False})
    assert [p.id for p in sdk.v1.products.list({"active": False}).data] == [retired.id]
    assert [p.id for p in sdk.v1.products.list({"active": True}).data] == [live.id]
    assert [p.id for p in sdk.v1.products.list({"shippable": True}).data] == [live.id]
    assert [p.id for p in sdk.v1.products.list({"ids": [retired.id]}).data] == [retired.id]
    monthly = sdk.v1.prices.create({"product": live.id, "currency": "eur", "unit_amount": 900,
                                    "recurring": {"interval": "month"}, "lookup_key": "live-monthly"})
    once = sdk.v1.prices.create({"product": live.id, "currency": "usd", "unit_amount": 5000})
    sdk.v1.prices.update(once.id, {"active": False})
    assert [p.id for p in sdk.v1.prices.list({"type": "recurring"}).data] == [monthly.id]
    assert [p.id for p in sdk.v1.prices.list({"active": False}).data] == [once.id]
    assert [p.id for p in sdk.v1.prices.list({"currency": "eur"}).data] == [monthly.id]
    assert [p.id for p in sdk.v1.prices.list({"lookup_keys": ["live-monthly"]}).data] == [monthly.id]
    assert [p.id for p in sdk.v1.prices.list({"recurring": {"interval": "year"}}).data] == []


def test_product_update_event_names_only_what_changed(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": "Starter", "metadata": {"tier": "1"}})
    sdk.v1.products.update(product.id, {"description": "For small teams", "metadata": {"tier": "2"}})
    event = sdk.v1.events.list({"type": "product.updated", "limit": 1}).data[0]
    previous = event.data.previous_attributes
    assert previous is not None
    assert previous.to_dict() == {"description": None, "metadata": {"tier": "1"}, "updated": product.updated}


def test_invalid_boolean_filter_is_refused(curl: httpx.Client) -> None:
    answer = curl.get("/v1/products", params={"active": "yes"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "active"


def test_customer_includables_expand_to_their_documented_empty_shapes(sdk: stripe.StripeClient) -> None:
    # https://docs.stripe.com/api/customers/object: sources, tax_ids, tax... are "Expandable" / includable.
    created = sdk.v1.customers.create({"email": "inc@example.com"})
    customer = sdk.v1.customers.retrieve(created.id, {"expand": ["sources", "tax_ids", "tax", "subscriptions"]})
    assert customer.sources is not None and customer.sources.data == []
    assert customer.tax_ids is not None and customer.tax_ids.data == []
    assert customer.tax is not None and customer.tax.automatic_tax == "unrecognized_location"
    assert customer.subscriptions is not None and customer.subscriptions.data == []


def test_subscription_create_and_update_parameters(sdk: stripe.StripeClient) -> None:
    # https://docs.stripe.com/api/subscriptions/create and /update
    customer = sdk.v1.customers.create({"email": "subs@example.com"})
    product = sdk.v1.products.create({"name": "Plan"})
    price = sdk.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 1000,
                                  "recurring": {"interval": "month"}})
    sub = sdk.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}],
                                       "metadata": {"source": "web"}, "description": "Monthly",
                                       "collection_method": "send_invoice", "days_until_due": 30})
    assert (sub.description, sub.collection_method, sub.days_until_due) == ("Monthly", "send_invoice", 30)
    updated = sdk.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True, "metadata": {"source": ""}})
    assert updated.cancel_at_period_end is True and updated.cancel_at == updated["items"].data[0].current_period_end
    assert updated.metadata.to_dict() == {}
    event = sdk.v1.events.list({"type": "customer.subscription.updated", "limit": 1}).data[0]
    previous = event.data.previous_attributes
    assert previous is not None
    assert previous.to_dict() == {"cancel_at_period_end": False, "cancel_at": None, "metadata": {"source": "web"}}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}],
                                     "default_payment_method": "pm_missing"})
    assert raised.value.code == "resource_missing" and raised.value.param == "default_payment_method"


def test_search_total_count_only_when_expanded(curl: httpx.Client) -> None:
    # https://docs.stripe.com/api/pagination/search: total_count is an includable, `expand[]=total_count`.
    for index in range(3):
        curl.post("/v1/customers", data={"name": "Counted", "email": f"count{index}@example.com"})
    plain = curl.get("/v1/customers/search", params={"query": 'name:"Counted"', "limit": 1}).json()
    counted = curl.get("/v1/customers/search",
                       params={"query": 'name:"Counted"', "limit": 1, "expand[]": "total_count"}).json()
    assert "total_count" not in plain and counted["total_count"] == 3 and len(counted["data"]) == 1


def test_product_price_and_subscription_search_use_their_own_query_fields(sdk: stripe.StripeClient) -> None:
    # https://docs.stripe.com/search#query-fields-for-products (and prices, subscriptions)
    shipped = sdk.v1.products.create({"name": "Widget Deluxe", "shippable": True, "metadata": {"line": "w"}})
    sdk.v1.products.create({"name": "Service Plan"})
    found = sdk.v1.products.search({"query": 'name~"widg" AND shippable:"true"'}).data
    assert [p.id for p in found] == [shipped.id]
    price = sdk.v1.prices.create({"product": shipped.id, "currency": "eur", "unit_amount": 500,
                                  "lookup_key": "widget-eur", "recurring": {"interval": "month"}})
    assert [p.id for p in sdk.v1.prices.search({"query": 'lookup_key:"widget-eur" currency:"eur"'}).data] == [
        price.id]
    customer = sdk.v1.customers.create({"email": "sub-search@example.com"})
    sub = sdk.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}],
                                       "metadata": {"channel": "partner"}})
    query = 'status:"active" AND metadata["channel"]:"partner"'
    assert [s.id for s in sdk.v1.subscriptions.search({"query": query}).data] == [sub.id]
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.prices.search({"query": 'name:"Widget Deluxe"'})  # not a price query field
