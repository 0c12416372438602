"""Mailchimp webhooks: a secret token in the URL, the GET check, form-encoded events to targeted syncs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.mailchimp import MailchimpConnector
from connectors.mailchimp.members import subscriber_hash
from connectors.mailchimp.sandbox import MailchimpSandbox
from connectors.mailchimp.webhooks import token_matches
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import WebhookError
from engine.sandbox import SandboxServer
from tests.service.conftest import RunningService, ServiceProcess, wait_for, write_config

TOKEN = "wh-test-0123456789abcdef"
Make = Callable[..., MailchimpConnector]


def event(kind: str, **data: str) -> bytes:
    form = {"type": kind, "fired_at": "2026-12-01 10:00:00", "data[list_id]": "a1b2c3d4e5"}
    form.update({f"data[{k}]": v for k, v in data.items()})
    return urlencode(form).encode()


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        (event("unsubscribe", email="Ada@Example.com", reason="manual"), [subscriber_hash("ada@example.com")]),
        (event("subscribe", email="new@example.com"), [subscriber_hash("new@example.com")]),
        (event("profile", email="p@example.com"), [subscriber_hash("p@example.com")]),
        (event("cleaned", email="bounce@example.com", reason="hard"), [subscriber_hash("bounce@example.com")]),
        (event("upemail", old_email="old@example.com", new_email="new@example.com"),
         sorted([subscriber_hash("old@example.com"), subscriber_hash("new@example.com")])),
        (event("unsubscribe", email="x@example.com", list_id="another0ne"), []),
    ],
    ids=["unsubscribe", "subscribe", "profile", "cleaned", "upemail", "another audience"],
)
def test_events_name_members_by_subscriber_hash(make_connector: Make, body: bytes, ids: list[str]) -> None:
    connector = make_connector(webhook_token=TOKEN)
    assert connector.verify_webhook_at(TOKEN, {}, body) == ids


@pytest.mark.parametrize(
    ("token", "body", "reason"),
    [
        (None, event("profile", email="a@example.com"), "token does not match"),
        ("wrong", event("profile", email="a@example.com"), "token does not match"),
        (TOKEN, b"type=nonsense", "unknown webhook event type"),
        (TOKEN, b"\xff\xfe", "not form-encoded"),
    ],
)
def test_refused_deliveries(make_connector: Make, token: str | None, body: bytes, reason: str) -> None:
    with pytest.raises(WebhookError, match=reason) as caught:
        make_connector(webhook_token=TOKEN).verify_webhook_at(token, {}, body)
    assert TOKEN not in str(caught.value)


def test_no_token_configured_accepts_nothing(make_connector: Make) -> None:
    connector = make_connector()
    with pytest.raises(WebhookError, match="no webhook_token"):
        connector.verify_webhook_at("anything", {}, event("profile", email="a@example.com"))
    assert not connector.webhook_check("anything") and not token_matches(None, None)


@pytest.fixture
def google() -> Iterator[tuple[GoogleContactsSandbox, SandboxServer]]:
    sandbox = GoogleContactsSandbox()
    with SandboxServer(sandbox) as server:
        yield sandbox, server


@pytest.fixture
def stripe() -> Iterator[tuple[StripeSandbox, SandboxServer]]:
    sandbox = StripeSandbox()
    with SandboxServer(sandbox) as server:
        yield sandbox, server


@pytest.fixture
def service(tmp_path: Path, sandbox: MailchimpSandbox, server: SandboxServer,
            google: tuple[GoogleContactsSandbox, SandboxServer],
            stripe: tuple[StripeSandbox, SandboxServer]) -> Iterator[RunningService]:
    mailchimp = {**server.settings(), "webhook_token": TOKEN, "retry_attempts": 4, "max_retry_wait_seconds": 0.2}
    one_way = [{"left": "email", "right": "email", "transform": "email", "direction": "left-to-right"},
               {"left": "name", "right": ["FNAME", "LNAME"], "direction": "left-to-right"}]
    config = write_config(tmp_path / "pairsync.yaml", {
        "audience": {"connector": "mailchimp", "settings": mailchimp},
        "contacts": {"connector": "google_contacts", "settings": google[1].settings()},
        "billing": {"connector": "stripe", "settings": {**stripe[1].settings(), "timeout_seconds": 10.0}},
    }, [{"name": "audience-contacts", "left": "audience", "right": "contacts"},
        {"name": "billing-audience", "left": "billing", "right": "audience", "direction": "two-way",
         "mode": {"left": "update-only", "right": "create-and-update"}, "mapping": {"fields": one_way}}])
    with RunningService(config) as running:
        yield running


def webhook_runs(service: RunningService, connection: str = "audience-contacts") -> list[dict[str, Any]]:
    return [r for r in service.runs(connection=connection) if r["trigger"] == "webhook"]


def test_an_unsubscribe_webhook_tags_the_google_contact_and_the_stripe_customer(
    sandbox: MailchimpSandbox, server: SandboxServer, google: tuple[GoogleContactsSandbox, SandboxServer],
    stripe: tuple[StripeSandbox, SandboxServer], service: RunningService,
) -> None:
    member = sandbox.add_record({"email": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace"})
    contact = google[0].add_record({"email": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace"})
    customer = stripe[0].add_record({"email": "ada@example.com", "name": "Ada Lovelace"})
    for connection in ("audience-contacts", "billing-audience"):
        first = service.http.post(f"/connections/{connection}/run", params={"wait": "true"}).json()
        assert first["status"] == "ok", first

    url = f"http://127.0.0.1:{service.port}/webhooks/audience/{TOKEN}"
    registered = httpx.post(f"{server.base_url}/3.0/lists/{sandbox.store.list_id}/webhooks",
                            auth=("me", sandbox.state.api_key),
                            json={"url": url, "events": {"unsubscribe": True, "profile": True, "cleaned": True,
                                                         "upemail": True, "subscribe": True},
                                  "sources": {"user": True, "admin": True, "api": False}})
    assert registered.status_code == 200, "the service answered Mailchimp's GET check"

    sandbox.unsubscribe(member)  # the person clicks the unsubscribe link
    [delivered] = sandbox.deliveries()
    assert delivered.status == 202 and delivered.form["type"] == "unsubscribe"
    for connection, tagged in (("audience-contacts", {"left": 0, "right": 1}),
                               ("billing-audience", {"left": 1, "right": 0})):
        run = wait_for(lambda c=connection: [r for r in webhook_runs(service, c) if r["status"] != "running"])[0]
        assert run["status"] == "ok" and run["summary"]["tagged"] == tagged, run
    assert google[0].tags_of(contact) == {"pairsync Unsubscribes"}
    assert "pairsync Unsubscribes" in next(r for r in stripe[0].records() if r["id"] == customer)["tags"]
    assert sandbox.deliveries() == [delivered], "pairsync's own tag writes are API-sourced: no events come back"


def test_a_wrong_token_fails_the_check_and_the_delivery(service: RunningService) -> None:
    assert service.http.get(f"/webhooks/audience/{TOKEN}").status_code == 200
    assert service.http.get("/webhooks/audience/not-the-token").status_code == 404
    assert service.http.get(f"/webhooks/contacts/{TOKEN}").status_code == 404, "Google takes no URL tokens"
    forged = service.http.post("/webhooks/audience/not-the-token", content=event("unsubscribe", email="a@b.co"),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert forged.status_code == 400 and TOKEN not in forged.text
    assert service.http.post("/webhooks/audience", content=event("unsubscribe", email="a@b.co")).status_code == 400


def test_pairsync_serve_keeps_the_url_token_out_of_its_logs(tmp_path: Path, server: SandboxServer) -> None:
    """The token is in the URL Mailchimp calls, so the server's access log line would show it: it must not."""
    secret = "wh-live-looking-token-9f8e7d6c5b4a"
    config = tmp_path / "pairsync.yaml"
    config.write_text(
        "accounts:\n"
        "  audience:\n"
        "    connector: mailchimp\n"
        "    settings:\n"
        f"      base_url: {server.base_url}\n"
        "      api_key: ${MAILCHIMP_API_KEY}\n"
        "      list_id: a1b2c3d4e5\n"
        "      webhook_token: ${MAILCHIMP_WEBHOOK_TOKEN}\n"
        "  crm:\n"
        "    connector: memory\n"
        "    settings: {store: crm}\n"
        "connections:\n"
        "  - {name: audience-crm, left: audience, right: crm}\n"
    )
    env = {"MAILCHIMP_API_KEY": "sandboxkeynotarealmailchimpkey00-us0", "MAILCHIMP_WEBHOOK_TOKEN": secret}
    process = ServiceProcess(config, env, ("--log-level", "debug"))  # debug logs every request (the access log)
    try:
        assert process.http.get(f"/webhooks/audience/{secret}").status_code == 200
        posted = process.http.post(f"/webhooks/audience/{secret}", content=event("profile", email="a@example.com"))
        assert posted.status_code == 202
        process.terminate(timeout=30)
    finally:
        process.close()
    log = process.log.read_text()
    assert "/webhooks/audience/" in log, "the access log is on, so the check below means something"
    assert secret not in log
