"""Webhooks over real HTTP, signed per each provider's documented scheme, driving targeted syncs.

Stripe: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the endpoint
secret>`, rejected outside a 300 s tolerance. QuickBooks: `intuit-signature: <base64 HMAC-SHA256 of the raw
body keyed with the verifier token>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.sandbox import SandboxServer
from engine.testing.memory import MemoryStore
from tests.service.conftest import RunningService, memory_account, store_name, wait_for, write_config

STRIPE_FAST = {"requests_per_second": 2000.0, "max_retry_wait_seconds": 0.05, "timeout_seconds": 5.0}
QUICKBOOKS_FAST = {"retry_max_wait": 0.02, "retry_attempts": 6}


def stripe_signed(body: bytes, secret: str, age: int = 0) -> dict[str, str]:
    stamp = int(time.time()) - age
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def stripe_event(customer: str) -> bytes:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": "customer.updated",
        "created": int(time.time()),
        "data": {"object": {"id": customer, "object": "customer"}},
    }
    return json.dumps(event).encode()


def intuit_signed(body: bytes, verifier: str) -> dict[str, str]:
    digest = hmac.new(verifier.encode(), body, hashlib.sha256).digest()
    return {"intuit-signature": base64.b64encode(digest).decode(), "Content-Type": "application/json"}


def intuit_event(realm: str, customer: str) -> bytes:
    entity = {"name": "Customer", "id": customer, "operation": "Update", "lastUpdated": "2025-01-01T00:00:00.000Z"}
    return json.dumps({"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [entity]}}]}).encode()


def webhook_runs(service: RunningService) -> list[dict[str, Any]]:
    return [r for r in service.runs(connection="billing") if r["trigger"] == "webhook"]


def names(store: MemoryStore) -> dict[str, str]:
    return {r.fields["email"]: r.fields.get("name", "") for r in store.live().values()}


class StripeSetup:
    def __init__(self, tmp_path: Path, stores: Any, serve: Any) -> None:
        self.sandbox = StripeSandbox()
        self.server = SandboxServer(self.sandbox).start()
        self.ids = [
            self.sandbox.add_record({"email": f"c{i}@example.com", "name": f"Customer {i}"}) for i in range(3)
        ]
        self.memory = stores("crm")
        account = {"connector": "stripe", "settings": {**self.server.settings(), **STRIPE_FAST}}
        config = write_config(
            tmp_path / "pairsync.yaml",
            {"stripe": account, "crm": memory_account(store_name(self.memory))},
            [{"name": "billing", "left": "stripe", "right": "crm", "direction": "left-to-right"}],
        )
        self.service = serve(config)
        first = self.service.http.post("/connections/billing/run", params={"wait": "true"}).json()
        assert first["created"]["right"] == 3, first

    def post(self, body: bytes, headers: dict[str, str]) -> Any:
        return self.service.http.post("/webhooks/stripe", content=body, headers=headers)

    def rename(self, index: int, name: str) -> bytes:
        self.sandbox.update_record(self.ids[index], {"name": name})
        return stripe_event(self.ids[index])

    def sentinel(self, runs_before: int) -> dict[str, Any]:
        """A valid event for the last customer, and its finished run: the positive sign that what came before
        has been handled. A wrongly accepted earlier event would have run before it or been coalesced into it.
        """
        body = self.rename(2, f"Sentinel {runs_before}")
        assert self.post(body, stripe_signed(body, self.sandbox.webhook_secret)).status_code == 202
        finished = wait_for(
            lambda: sorted((r for r in webhook_runs(self.service) if r["status"] != "running"), key=lambda r: r["id"])[
                runs_before:
            ]
        )
        assert names(self.memory)["c2@example.com"] == f"Sentinel {runs_before}"
        return finished[-1]


@pytest.fixture
def stripe(tmp_path: Path, stores, serve) -> Iterator[StripeSetup]:
    setup = StripeSetup(tmp_path, stores, serve)
    yield setup
    setup.server.stop()


def test_a_verified_stripe_event_syncs_just_the_named_customer(stripe: StripeSetup) -> None:
    store = stripe.service.service.store
    cursor = store.cursor("billing", "left")
    stripe.sandbox.update_record(stripe.ids[1], {"name": "Not Named In The Event"})
    body = stripe.rename(0, "Renamed By Webhook")

    accepted = stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret))
    assert accepted.status_code == 202 and accepted.json()["records"] == [stripe.ids[0]]

    run = wait_for(lambda: [r for r in webhook_runs(stripe.service) if r["status"] != "running"])[0]
    assert run["status"] == "ok" and run["summary"]["updated"] == {"left": 0, "right": 1}
    assert names(stripe.memory)["c0@example.com"] == "Renamed By Webhook"
    assert names(stripe.memory)["c1@example.com"] == "Customer 1"  # not named: waits for the next full read
    assert store.cursor("billing", "left") == cursor


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("forged", lambda body, secret: stripe_signed(body, "whsec_not_the_secret")),
        ("stale", lambda body, secret: stripe_signed(body, secret, age=600)),
        ("missing", lambda body, secret: {"Content-Type": "application/json"}),
        ("other body", lambda body, secret: stripe_signed(b'{"id": "evt_other"}', secret)),
    ],
)
def test_bad_stripe_signatures_get_400_and_change_nothing(stripe: StripeSetup, case: str, headers: Any) -> None:
    body = stripe.rename(0, "Must Not Arrive")
    rejected = stripe.post(body, headers(body, stripe.sandbox.webhook_secret))
    assert rejected.status_code == 400
    assert stripe.sandbox.webhook_secret not in rejected.text
    run = stripe.sentinel(runs_before=0)
    assert len(webhook_runs(stripe.service)) == 1 and run["summary"]["updated"]["right"] == 1, "the sentinel alone"
    assert names(stripe.memory)["c0@example.com"] == "Customer 0"
    metrics = stripe.service.http.get("/metrics").text
    assert 'pairsync_webhook_events_total{account="stripe",result="rejected"} 1.0' in metrics


def test_replayed_and_redelivered_events_have_no_second_effect(stripe: StripeSetup) -> None:
    body = stripe.rename(0, "Once")
    headers = stripe_signed(body, stripe.sandbox.webhook_secret)
    assert stripe.post(body, headers).status_code == 202
    assert stripe.post(body, headers).json() == {"status": "duplicate"}  # replayed as captured
    wait_for(lambda: [r for r in webhook_runs(stripe.service) if r["status"] != "running"])
    redelivered = stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret))  # fresh signature
    assert redelivered.json() == {"status": "duplicate"}
    stripe.sandbox.update_record(stripe.ids[0], {"name": "Changed Since"})  # a second run of c0 would carry this
    run = stripe.sentinel(runs_before=1)
    assert len(webhook_runs(stripe.service)) == 2 and run["summary"]["updated"]["right"] == 1, "the sentinel alone"
    assert names(stripe.memory)["c0@example.com"] == "Once"


def test_a_burst_of_events_is_coalesced_into_one_targeted_run(stripe: StripeSetup) -> None:
    for index in range(3):
        body = stripe.rename(index, f"Burst {index}")
        assert stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret)).status_code == 202
    run = wait_for(lambda: [r for r in webhook_runs(stripe.service) if r["status"] != "running"])[0]
    assert run["summary"]["updated"]["right"] == 3
    assert sorted(names(stripe.memory).values()) == ["Burst 0", "Burst 1", "Burst 2"]
    stripe.sandbox.update_record(stripe.ids[0], {"name": "Changed Since"})  # a late extra run of c0 would carry this
    sentinel = stripe.sentinel(runs_before=1)
    assert len(webhook_runs(stripe.service)) == 2 and sentinel["summary"]["updated"]["right"] == 1
    assert names(stripe.memory)["c0@example.com"] == "Burst 0"


def test_a_disabled_connection_ignores_its_webhooks(stripe: StripeSetup) -> None:
    stripe.service.http.post("/connections/billing/disable").raise_for_status()
    body = stripe.rename(0, "Ignored")
    answer = stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret))
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    stripe.service.http.post("/connections/billing/enable").raise_for_status()
    run = stripe.sentinel(runs_before=0)
    assert len(webhook_runs(stripe.service)) == 1 and run["summary"]["updated"]["right"] == 1, "the sentinel alone"
    assert names(stripe.memory)["c0@example.com"] == "Customer 0"


@pytest.fixture
def quickbooks(tmp_path: Path, stores, serve) -> Iterator[tuple[QuickBooksSandbox, RunningService, MemoryStore, str]]:
    sandbox = QuickBooksSandbox()
    with SandboxServer(sandbox) as server:
        customer = sandbox.add_record({"PrimaryEmailAddr.Address": "qb@example.com", "DisplayName": "QB One"})
        memory = stores("crm")
        config = write_config(
            tmp_path / "pairsync.yaml",
            {
                "books": {"connector": "quickbooks", "settings": {**server.settings(), **QUICKBOOKS_FAST}},
                "crm": memory_account(store_name(memory)),
            },
            [
                {
                    "name": "billing",
                    "left": "books",
                    "right": "crm",
                    "direction": "left-to-right",
                    "mapping": {
                        "fields": [
                            {"left": "PrimaryEmailAddr.Address", "right": "email"},
                            {"left": "DisplayName", "right": "name"},
                        ]
                    },
                    "match": {"right": "email"},
                }
            ],
        )
        service = serve(config)
        assert service.http.post("/connections/billing/run", params={"wait": "true"}).json()["status"] == "ok"
        yield sandbox, service, memory, customer


def test_quickbooks_events_signed_valid_forged_and_replayed(quickbooks) -> None:
    sandbox, service, memory, customer = quickbooks
    sandbox.update_record(customer, {"DisplayName": "QB Renamed"})
    body = intuit_event(sandbox.realm_id, customer)

    forged = service.http.post("/webhooks/books", content=body, headers=intuit_signed(body, "not-the-verifier"))
    assert forged.status_code == 400 and sandbox.verifier_token not in forged.text

    valid = service.http.post("/webhooks/books", content=body, headers=intuit_signed(body, sandbox.verifier_token))
    assert valid.status_code == 202 and valid.json()["records"] == [customer]
    replayed = service.http.post("/webhooks/books", content=body, headers=intuit_signed(body, sandbox.verifier_token))
    assert replayed.json() == {"status": "duplicate"}

    wait_for(lambda: [r for r in webhook_runs(service) if r["status"] != "running"])
    assert wait_for(lambda: names(memory).get("qb@example.com") == "QB Renamed")
    assert len(webhook_runs(service)) == 1
