"""Reading, writing and reliability of the Stripe connector, through the real SDK against the sandbox."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from connectors.stripe import StripeConnector
from connectors.stripe.client import should_retry
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import ConnectorContext
from engine.records import WriteRequest
from engine.sandbox import Knobs, SandboxServer

from .conftest import read_all, run, settings_for

CUSTOMERS = 250


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[StripeSandbox, SandboxServer]]:
    """Its own account: 250 customers over two years, most with a subscription."""
    sandbox = StripeSandbox(seed=CUSTOMERS, rng_seed=7)
    with SandboxServer(sandbox) as server:
        yield sandbox, server


def connector_for(server: SandboxServer, **overrides: Any) -> StripeConnector:
    return StripeConnector(settings_for(server, **overrides), ConnectorContext("stripe-test"))


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_full_listing_returns_each_customer_exactly_once(seeded, partitions: int) -> None:
    sandbox, server = seeded
    pages, records = run(connector_for(server, partitions=partitions), read_all)
    counts = Counter(record.id for record in records)
    assert set(counts) == {record["id"] for record in sandbox.records()}
    assert max(counts.values()) == 1, "no customer appears twice across partitions"
    assert all(page.full for page in pages) and pages[-1].last and pages[-1].cursor is not None
    assert len(pages) >= CUSTOMERS // 100


def test_listing_carries_the_derived_fields(seeded) -> None:
    sandbox, server = seeded
    _, records = run(connector_for(server), read_all)
    expected = {record["id"]: record for record in sandbox.records()}
    for record in records:
        for name in ("plans", "subscription_status", "lifecycle_stage", "mrr", "renewal_date", "created"):
            assert record.get(name) == expected[record.id].get(name), name


def test_events_cursor_reads_only_what_changed(seeded) -> None:
    sandbox, server = seeded
    cursor = run(connector_for(server), _cursor)
    changed = sandbox.records()[0]["id"]
    removed = sandbox.records()[1]["id"]
    sandbox.update_record(changed, {"metadata.plan": "gold"})
    sandbox.delete_record(removed)
    pages, records = run(connector_for(server), lambda c: read_all(c, cursor))
    by_id = {record.id: record for record in records}
    assert set(by_id) == {changed, removed}
    assert by_id[changed].get("metadata.plan") == "gold" and by_id[removed].deleted
    assert not any(page.full for page in pages)
    assert pages[-1].cursor != cursor, "the cursor moves to the newest event"


@pytest.mark.parametrize(
    ("form", "fetched"),
    [
        ({"tax_exempt": "exempt", "preferred_locales[0]": "de"}, False),  # no record field changed
        ({"balance": "-300", "invoice_settings[footer]": "Danke"}, False),
        ({"balance": "-500", "phone": "+4930123456"}, True),  # one record field among others
        ({"metadata[tier]": "gold"}, True),
    ],
)
def test_updates_that_change_no_record_field_fetch_nothing(seeded, form: dict[str, str], fetched: bool) -> None:
    """Only the changed keys are in `previous_attributes`, so unrelated updates need no request."""
    sandbox, server = seeded
    customer = sandbox.add_record({"name": "Quiet", "email": f"quiet-{uuid.uuid4().hex[:6]}@example.com"})
    cursor = run(connector_for(server), _cursor)
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    assert httpx.post(f"{server.base_url}/v1/customers/{customer}", data=form, headers=headers).status_code == 200
    pages, records = run(connector_for(server), lambda c: read_all(c, cursor))
    assert [r.id for r in records] == ([customer] if fetched else [])
    assert pages[-1].cursor != cursor, "the cursor moves past the event either way"


def test_subscription_changes_show_up_as_customer_changes(seeded) -> None:
    sandbox, server = seeded
    customer = sandbox.add_record({"name": "Sub Scriber", "email": "sub@example.com"})
    price = sandbox.store.of_kind("price")[0]["id"]
    cursor = run(connector_for(server), _cursor)
    subscription = sandbox.subscribe(customer, price, quantity=2)
    sandbox.set_subscription_status(subscription, "past_due")
    _, records = run(connector_for(server), lambda c: read_all(c, cursor))
    [record] = records
    assert (record.id, record.get("subscription_status"), record.get("lifecycle_stage")) == (
        customer, "past_due", "customer"
    )
    sandbox.cancel(subscription)
    record = run(connector_for(server), lambda c: c.get(customer))
    assert record is not None and record.get("lifecycle_stage") == "churned" and record.get("plans") == []


async def _cursor(connector: StripeConnector) -> Any:
    pages, _ = await read_all(connector)
    return pages[-1].cursor


@pytest.mark.parametrize(
    ("make_cursor", "note"),
    [
        (lambda fresh: {"event": fresh["event"], "created": int(time.time()) - 31 * 86400}, "older than 30 days"),
        (lambda fresh: {"event": "evt_forgotten0000", "created": int(time.time())}, "is gone"),
        (lambda fresh: "not a cursor", "unreadable"),
    ],
)
def test_an_expired_cursor_falls_back_to_a_full_listing_and_says_so(seeded, make_cursor, note: str) -> None:
    sandbox, server = seeded
    cursor = make_cursor(run(connector_for(server), _cursor))
    pages, records = run(connector_for(server), lambda c: read_all(c, cursor))
    assert all(page.full and page.note and note in page.note for page in pages)
    assert {r.id for r in records} == {r["id"] for r in sandbox.records()}


def test_events_older_than_30_days_are_gone_from_the_sandbox() -> None:
    sandbox = StripeSandbox()
    sandbox.add_record({"email": "old@example.com"})
    with SandboxServer(sandbox) as server:
        cursor = run(connector_for(server), _cursor)
        sandbox.advance_clock(31 * 86400)
        pages, _ = run(connector_for(server), lambda c: read_all(c, {**cursor, "created": int(time.time())}))
    assert pages[0].note and "is gone" in pages[0].note


def test_a_create_whose_response_was_lost_is_retried_without_a_second_customer(server, sandbox) -> None:
    email = f"lost-{uuid.uuid4().hex[:8]}@example.com"
    sandbox.lose_responses(1)
    context = ConnectorContext("stripe-test")
    connector = StripeConnector(settings_for(server), context)
    request = WriteRequest(key=uuid.uuid4().hex, id=None, fields={"email": email})
    [result] = run(connector, lambda c: c.upsert([request]))
    assert result.ok, result.error
    assert context.requests == 2, "the 500 was retried once with the same Idempotency-Key"
    assert [r["id"] for r in sandbox.records() if r.get("email") == email] == [result.id]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metadata." + "k" * 41: "v"}, "at most 40 characters"),
        ({"metadata.a[b]": "v"}, "square brackets"),
        ({"metadata.note": "x" * 501}, "at most 500 characters"),
        ({f"metadata.key{i}": "v" for i in range(51)}, "at most 50 keys"),
        ({"metadata.pairsync_tags": "x"}, "use tag/untag"),
        ({"mrr": 10.0}, "not writable in Stripe: mrr"),
        ({"stripe_customer_id": "cus_x"}, "not writable in Stripe: stripe_customer_id"),
        ({"favourite_colour": "red"}, "no such Stripe customer field: favourite_colour"),
    ],
)
def test_a_bad_record_fails_alone_before_sending(make_connector, fields: dict[str, Any], message: str) -> None:
    context = ConnectorContext("stripe-test")
    good = WriteRequest(key=uuid.uuid4().hex, id=None, fields={"email": f"ok-{uuid.uuid4().hex[:6]}@example.com"})
    bad = WriteRequest(key=uuid.uuid4().hex, id=None, fields={"email": "bad@example.com", **fields})
    results = run(make_connector(context), lambda c: c.upsert([good, bad]))
    assert results[0].ok and not results[1].ok
    assert message in (results[1].error or "")
    assert context.requests == 1, "the refused record was never sent"


def test_none_unsets_fields_and_metadata_keys(make_connector, sandbox) -> None:
    customer = sandbox.add_record({"email": "unset@example.com", "phone": "+4420", "metadata.plan": "pro",
                                   "address.city": "Leeds", "address.country": "GB"})
    update = WriteRequest(key="u", id=customer, fields={"phone": None, "metadata.plan": None, "address.city": None})
    [result] = run(make_connector(), lambda c: c.upsert([update]))
    assert result.record is not None
    assert [result.record.get(n) for n in ("phone", "metadata.plan", "address.city", "address.country")] == [
        None, None, None, "GB"
    ], "an address change keeps the parts it does not name"


@pytest.mark.parametrize(
    ("status", "headers", "retried"),
    [
        (429, {}, True),
        (500, {}, True),
        (409, {}, True),
        (400, {}, False),
        (500, {"Stripe-Should-Retry": "false"}, False),
        (400, {"Stripe-Should-Retry": "true"}, True),
    ],
)
def test_retries_follow_stripe_should_retry(status: int, headers: dict[str, str], retried: bool) -> None:
    assert should_retry(httpx.Response(status, headers=headers)) is retried


def test_reads_survive_rate_limits_and_server_faults() -> None:
    sandbox = StripeSandbox(seed=120, rng_seed=3)
    knobs = Knobs(faults={"429": 0.2, "503": 0.1})
    with SandboxServer(sandbox, knobs=knobs) as server:
        _, records = run(connector_for(server, retry_attempts=8), read_all)
    assert len(records) == 120 and knobs.rejected > 0


@pytest.mark.parametrize(
    ("key", "rate"),
    [("sk_test_abc", 25.0), ("rk_test_abc", 25.0), ("sk_live_abc", 100.0), ("rk_live_abc", 100.0)],
)
def test_default_rate_limit_follows_the_key_mode(key: str, rate: float) -> None:
    from connectors.stripe import StripeSettings

    assert StripeSettings(api_key=key).effective_requests_per_second() == rate


def test_secrets_stay_out_of_reprs_and_errors(server, sandbox) -> None:
    from connectors.stripe import StripeSettings

    settings = settings_for(server)
    connector = StripeConnector(settings, ConnectorContext("stripe-test"))
    shown = " ".join([repr(settings), str(settings.model_dump()), repr(connector)])
    assert sandbox.api_key not in shown and sandbox.webhook_secret not in shown
    wrong = StripeConnector(settings_for(server, api_key="sk_test_wrongwrongwrong"), ConnectorContext("t"))
    with pytest.raises(stripe.AuthenticationError) as refused:  # the key, not the record: the run stops
        run(wrong, lambda c: c.upsert([WriteRequest(key="k", id=None, fields={"email": "a@example.com"})]))
    assert StripeConnector.auth_failure(refused.value) and "wrongwrong" not in str(refused.value)
    with pytest.raises(ValueError, match="secret") as raised:
        StripeSettings(api_key="pk_live_abcdef")
    assert "abcdef" not in str(raised.value)
