"""Mailchimp webhooks: form-encoded events with no signature, authenticated by a secret in the URL.

Mailchimp signs nothing, so the webhook URL registered for an audience ends
in a secret token (`.../webhooks/{account}/{token}`), compared in constant
time. Mailchimp checks a new URL with a GET before it saves it; that check
is answered only for the right token. An event names the member by address:
`data[email]` (subscribe, unsubscribe, profile, cleaned) or `data[old_email]`
and `data[new_email]` (upemail); the ids returned are subscriber hashes.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from connectors.mailchimp.members import subscriber_hash
from engine.connector import WebhookError

EVENT_TYPES = frozenset({"subscribe", "unsubscribe", "profile", "upemail", "cleaned", "campaign"})
ADDRESS_KEYS = ("data[email]", "data[old_email]", "data[new_email]")


def token_matches(expected: str | None, given: str | None) -> bool:
    """Whether the URL's token is the account's; constant time, and never true without one configured."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def member_ids(expected_token: str | None, token: str | None, list_id: str, body: bytes) -> list[str]:
    """Subscriber hashes of the members a genuine event for this audience names; WebhookError otherwise."""
    if not expected_token:
        raise WebhookError("mailchimp: no webhook_token in the account settings; cannot accept webhooks")
    if not token_matches(expected_token, token):
        raise WebhookError("mailchimp: the webhook URL's token does not match the account's webhook_token")
    try:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=bool(body)).items()}
    except (UnicodeDecodeError, ValueError):
        raise WebhookError("mailchimp: webhook body is not form-encoded") from None
    kind = form.get("type")
    if kind not in EVENT_TYPES:
        raise WebhookError(f"mailchimp: unknown webhook event type {kind!r}")
    if form.get("data[list_id]") not in (None, list_id):
        return []  # another audience's event: nothing of ours changed
    return sorted({subscriber_hash(form[key]) for key in ADDRESS_KEYS if form.get(key)})
