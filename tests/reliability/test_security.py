"""Security findings: a weak API token beyond loopback, a Stripe signature from the future, inline secrets.

Before: `PAIRSYNC_API_TOKEN=a` was accepted on 0.0.0.0; a Stripe event signed
an hour ahead passed the 300 s tolerance (checked only backwards); a secret
written inline in the config passed `validate` silently and was never scrubbed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stripe

from connectors.stripe.webhooks import verify
from engine.config import load_config
from engine.connector import WebhookError
from engine.secrets import REDACTOR
from engine.service.settings import ServiceError, ServiceSettings

PAIRSYNC = str(Path(sys.executable).parent / "pairsync")
STRONG = "Zx8vQ2mL7pR4tW9yB3nK6cF1hJ5dG0sA-ue"


@pytest.mark.parametrize(
    ("host", "token", "refused"),
    [
        ("0.0.0.0", "a", "too weak"),
        ("0.0.0.0", "   ", "set PAIRSYNC_API_TOKEN"),
        ("192.168.1.20", "x" * 40, "too weak"),  # long but no randomness
        ("0.0.0.0", "short-but-mixed-Token-1234", "too weak"),
        ("0.0.0.0", STRONG, None),
        ("127.0.0.1", "a", None),  # loopback: only this machine can reach it
    ],
)
def test_an_api_token_beyond_loopback_must_be_strong(host: str, token: str, refused: str | None) -> None:
    env = {"PAIRSYNC_API_TOKEN": token}
    if refused is None:
        ServiceSettings.from_env(host, env)
        return
    with pytest.raises(ServiceError, match=refused) as raised:
        ServiceSettings.from_env(host, env)
    assert "secrets.token_urlsafe(32)" in str(raised.value), "the message says how to make one"


SECRET = "whsec_test_tolerance_both_ways"


def signed_at(stamp: int, body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}"}


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (-290, True), (290, True), (-3600, False), (3600, False), (310, False)],
)
def test_a_stripe_signature_is_fresh_within_the_tolerance_both_ways(offset: int, accepted: bool) -> None:
    body = json.dumps({"type": "customer.updated", "data": {"object": {"id": "cus_1", "object": "customer"}}}).encode()
    client = stripe.StripeClient("sk_test_unused")
    headers = signed_at(int(time.time()) + offset, body)
    if accepted:
        assert verify(client, SECRET, headers, body) == ["cus_1"]
    else:
        with pytest.raises(WebhookError, match="tolerance"):
            verify(client, SECRET, headers, body)


INLINE = "sk_test_inline_1234567890abcdef"


def inline_config(tmp_path: Path) -> Path:
    path = tmp_path / "pairsync.yaml"
    path.write_text(
        "accounts:\n"
        "  stripe:\n"
        "    connector: stripe\n"
        "    settings:\n"
        f"      api_key: {INLINE}\n"
        "      webhook_secret: ${WEBHOOK_SECRET}\n"
        "  crm: {connector: memory, settings: {store: crm}}\n"
        "connections:\n"
        "  - {name: billing, left: stripe, right: crm, direction: left-to-right}\n"
    )
    return path


def test_an_inline_secret_is_scrubbed_and_validate_says_it_belongs_in_the_environment(tmp_path: Path) -> None:
    path = inline_config(tmp_path)
    loaded = load_config(path, environ={"WEBHOOK_SECRET": "whsec_from_the_environment"})
    assert INLINE not in REDACTOR.redact(f"key {INLINE} leaked"), "scrubbed although it came from no ${VAR}"
    [warning] = loaded.warnings
    assert f"{path}:5" in warning and "accounts.stripe.settings.api_key" in warning
    assert "${STRIPE_API_KEY}" in warning and INLINE not in warning

    done = subprocess.run(
        [PAIRSYNC, "validate", str(path)],
        env={"WEBHOOK_SECRET": "whsec_from_the_environment", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "belongs in the environment" in done.stdout + done.stderr
