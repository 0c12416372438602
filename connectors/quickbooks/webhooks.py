"""Verifying QuickBooks webhooks and finding the customers they name.

`intuit-signature` is base64 of HMAC-SHA256 of the raw body keyed with the
app's verifier token. Both payload shapes are read: the classic
`eventNotifications` one and the CloudEvents list. An event is only a hint:
the engine re-reads the customers whose ids come back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from engine.connector import WebhookError

SIGNATURE_HEADER = "intuit-signature"


def signature(body: bytes, verifier_token: str) -> bytes:
    return hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def verify(headers: Mapping[str, str], body: bytes, verifier_token: str | None, realm_id: str) -> list[str]:
    """The customer ids of a correctly signed webhook for this company; WebhookError otherwise."""
    if not verifier_token:
        raise WebhookError("quickbooks: no webhook_verifier_token is configured, so no webhook can be trusted")
    given = _header(headers, SIGNATURE_HEADER)
    if not given:
        raise WebhookError(f"quickbooks webhook without the {SIGNATURE_HEADER} header")
    try:
        decoded = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError(f"quickbooks webhook with a malformed {SIGNATURE_HEADER} header") from None
    if not hmac.compare_digest(decoded, signature(body, verifier_token)):
        raise WebhookError("quickbooks webhook signature does not match the body")
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookError("quickbooks webhook body is not JSON") from None
    ids = _classic(payload, realm_id) if isinstance(payload, dict) and "eventNotifications" in payload \
        else _cloud_events(payload, realm_id)
    return list(dict.fromkeys(ids))


def _classic(payload: dict[str, Any], realm_id: str) -> list[str]:
    ids: list[str] = []
    for notification in payload.get("eventNotifications") or []:
        if not isinstance(notification, dict) or str(notification.get("realmId")) != realm_id:
            continue
        for entity in (notification.get("dataChangeEvent") or {}).get("entities") or []:
            if isinstance(entity, dict) and entity.get("name") == "Customer" and entity.get("id") is not None:
                ids.append(str(entity["id"]))
    return ids


def _cloud_events(payload: Any, realm_id: str) -> list[str]:
    events = payload if isinstance(payload, list) else [payload]
    ids: list[str] = []
    for event in events:
        if not isinstance(event, dict) or "specversion" not in event:
            raise WebhookError("quickbooks webhook is neither eventNotifications nor CloudEvents")
        kind = str(event.get("type", ""))
        if not kind.startswith("qbo.customer.") or str(event.get("intuitaccountid")) != realm_id:
            continue
        if event.get("intuitentityid") is not None:
            ids.append(str(event["intuitentityid"]))
        data = event.get("data")
        if isinstance(data, dict) and data.get("deletedid") is not None:
            ids.append(str(data["deletedid"]))  # a merge: the merged-away customer is re-read too
    return ids
