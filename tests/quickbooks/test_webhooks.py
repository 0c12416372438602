"""Webhooks: intuit-signature checks, classic and CloudEvents payloads, other companies ignored."""

from __future__ import annotations

import json

import pytest

from connectors.quickbooks.connector import QuickBooksConnector
from connectors.quickbooks.sandbox import QuickBooksSandbox, sign
from connectors.quickbooks.settings import QuickBooksSettings
from engine.connector import ConnectorContext, WebhookError

SANDBOX = QuickBooksSandbox()


def connector(**overrides) -> QuickBooksConnector:
    settings = QuickBooksSettings(**{**SANDBOX.settings("http://127.0.0.1:9"), **overrides})
    return QuickBooksConnector(settings, ConnectorContext("webhooks"))


@pytest.mark.parametrize("style", ["classic", "cloudevents"])
def test_signed_webhook_names_its_customers(style):
    headers, body = SANDBOX.webhook(["7", "12", "7"], style=style)
    assert connector().verify_webhook(headers, body) == ["7", "12"]


def signed(payload) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {"Intuit-Signature": sign(body, SANDBOX.verifier_token)}, body


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"eventNotifications": [{"realmId": "other", "dataChangeEvent": {"entities": [
            {"name": "Customer", "id": "1", "operation": "Update"}]}}]}, []),
        ({"eventNotifications": [{"realmId": SANDBOX.realm_id, "dataChangeEvent": {"entities": [
            {"name": "Invoice", "id": "1", "operation": "Create"},
            {"name": "Customer", "id": "5", "operation": "Merge"}]}}]}, ["5"]),
        ([{"specversion": "1.0", "type": "qbo.customer.merged.v1", "intuitentityid": "123",
           "intuitaccountid": SANDBOX.realm_id, "data": {"deletedid": "27"}}], ["123", "27"]),
        ([{"specversion": "1.0", "type": "qbo.invoice.created.v1", "intuitentityid": "9",
           "intuitaccountid": SANDBOX.realm_id}], []),
    ],
    ids=["other-company", "non-customer-entities", "cloudevents-merge", "cloudevents-invoice"],
)
def test_payload_shapes(payload, expected):
    headers, body = signed(payload)
    assert connector().verify_webhook(headers, body) == expected


def tampered() -> tuple[dict[str, str], bytes]:
    headers, body = SANDBOX.webhook(["1"])
    return headers, body.replace(b'"1"', b'"2"')


@pytest.mark.parametrize(
    ("make", "message_part"),
    [
        (tampered, "does not match"),
        (lambda: ({}, SANDBOX.webhook(["1"])[1]), "without"),
        (lambda: ({"intuit-signature": "%%%not base64"}, SANDBOX.webhook(["1"])[1]), "malformed"),
        (lambda: ({"intuit-signature": sign(b"[1]", "another-token")}, b"[1]"), "does not match"),
        (lambda: signed({"hello": "world"}), "neither"),
        (lambda: ({"intuit-signature": sign(b"not json", SANDBOX.verifier_token)}, b"not json"), "not JSON"),
    ],
    ids=["tampered-body", "missing-header", "malformed-header", "other-key", "unknown-shape", "not-json"],
)
def test_anything_else_is_rejected(make, message_part):
    headers, body = make()
    with pytest.raises(WebhookError, match=message_part):
        connector().verify_webhook(headers, body)


def test_without_a_verifier_token_no_webhook_is_trusted():
    headers, body = SANDBOX.webhook(["1"])
    with pytest.raises(WebhookError, match="webhook_verifier_token"):
        connector(webhook_verifier_token=None).verify_webhook(headers, body)
