"""Webhook signatures through the SDK's check, and signed delivery from the sandbox end to end."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from connectors.stripe import StripeConnector
from connectors.stripe.sandbox import StripeSandbox, signature_header
from engine.connector import WebhookError

EVENT = {"id": "evt_1", "object": "event", "type": "customer.updated",
         "data": {"object": {"id": "cus_hint1", "object": "customer"}}}
BODY = json.dumps(EVENT).encode()


def headers_for(secret: str, age: int = 0, body: bytes = BODY) -> dict[str, str]:
    return {"Stripe-Signature": signature_header(body, secret, int(time.time()) - age)}


def test_valid_signature_names_the_customer(make_connector: Callable[..., StripeConnector], sandbox: StripeSandbox):
    connector = make_connector()
    assert connector.verify_webhook(headers_for(sandbox.webhook_secret), BODY) == ["cus_hint1"]


@pytest.mark.parametrize(
    ("case", "headers", "reason"),
    [
        ("forged", lambda secret: headers_for("whsec_wrong"), "no signature matches"),
        ("stale", lambda secret: headers_for(secret, age=301), "outside the 300 s tolerance"),
        ("missing", lambda secret: {}, "missing Stripe-Signature"),
        ("garbled", lambda secret: {"stripe-signature": "nonsense"}, "malformed signature header"),
        ("body-changed", lambda secret: headers_for(secret, body=b"{}"), "no signature matches"),
    ],
)
def test_bad_signatures_are_rejected_without_quoting_the_secret(
    make_connector: Callable[..., StripeConnector],
    sandbox: StripeSandbox,
    case: str,
    headers: Callable[[str], dict[str, str]],
    reason: str,
) -> None:
    connector = make_connector()
    with pytest.raises(WebhookError, match=reason) as raised:
        connector.verify_webhook(headers(sandbox.webhook_secret), BODY)
    assert sandbox.webhook_secret not in str(raised.value)


def test_subscription_events_name_their_customer(make_connector: Callable[..., StripeConnector], sandbox):
    event = {"id": "evt_2", "object": "event", "type": "customer.subscription.updated",
             "data": {"object": {"id": "sub_1", "object": "subscription", "customer": "cus_owner"}}}
    body = json.dumps(event).encode()
    assert make_connector().verify_webhook(headers_for(sandbox.webhook_secret, body=body), body) == ["cus_owner"]


def test_without_a_webhook_secret_nothing_is_accepted(make_connector: Callable[..., StripeConnector], sandbox):
    connector = make_connector(webhook_secret=None)
    with pytest.raises(WebhookError, match="no webhook_secret"):
        connector.verify_webhook(headers_for(sandbox.webhook_secret), BODY)


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    http = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}/hooks"
    http.shutdown()


def test_sandbox_delivers_signed_events_the_connector_accepts(
    make_connector: Callable[..., StripeConnector], sandbox: StripeSandbox, receiver: str
) -> None:
    delivery = sandbox.deliver_webhooks(receiver)
    try:
        customer = sandbox.add_record({"name": "Hook Test", "email": "hook@example.com"})
        sandbox.update_record(customer, {"name": "Hook Tested"})
        delivery.flush()
    finally:
        sandbox.store.listeners.remove(delivery)
        delivery.close()
    connector = make_connector()
    names = [connector.verify_webhook(headers, body) for headers, body in Receiver.received]
    assert names == [[customer], [customer]]
    assert [json.loads(body)["type"] for _, body in Receiver.received] == ["customer.created", "customer.updated"]
