"""Unsubscribes travel as tags, end to end, over the real sandboxes of all three apps.

A member unsubscribes in the Mailchimp sandbox through its API, as
Mailchimp's own web app would; the next run tags the linked Google contact
and the linked Stripe customer `pairsync Unsubscribes`, and a run after
that writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.mailchimp.sandbox import MailchimpSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.config import load_config
from engine.config.loaded import LoadedConfig
from engine.runner import Report, run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore

TAG = "pairsync Unsubscribes"
FAST = {"retry_attempts": 4, "max_retry_wait_seconds": 0.2, "timeout_seconds": 10.0}


class Apps:
    """The three sandboxes on loopback, a config joining them, and its state store."""

    def __init__(self, folder: Path) -> None:
        self.mailchimp, self.google, self.stripe = MailchimpSandbox(), GoogleContactsSandbox(), StripeSandbox()
        self.servers = [SandboxServer(s).start() for s in (self.mailchimp, self.google, self.stripe)]
        mc, google, stripe = self.servers
        config = {
            "accounts": {
                "mailchimp": {"connector": "mailchimp", "settings": {**mc.settings(), **FAST}},
                "google": {"connector": "google_contacts", "settings": {**google.settings(), **FAST}},
                "stripe": {"connector": "stripe", "settings": {**stripe.settings(), "timeout_seconds": 10.0}},
            },
            "connections": [
                {"name": "audience-contacts", "left": "mailchimp", "right": "google"},
                {"name": "billing-audience", "left": "stripe", "right": "mailchimp",
                 "mode": {"left": "update-only", "right": "create-and-update"},
                 "mapping": {"fields": [{"left": "name", "right": ["FNAME", "LNAME"], "direction": "left-to-right"},
                                        {"left": "email", "right": "email", "transform": "email",
                                         "direction": "left-to-right"},
                                        {"left": "phone", "right": "PHONE", "transform": "phone_e164",
                                         "direction": "left-to-right"}]}},
            ],
        }
        path = folder / "pairsync.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.loaded: LoadedConfig = load_config(path)
        self.store = StateStore(self.loaded.state_url)

    def run(self, name: str) -> dict[str, Any]:
        connection = self.loaded.config.connection(name)
        report: Report = asyncio.run(run_connection(self.loaded, connection, self.store))
        assert report.status == "ok", report.summary()
        return report.summary()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Apps]:
    running = Apps(tmp_path)
    yield running
    running.stop()


def wrote_nothing(summary: dict[str, Any]) -> bool:
    return all(summary[k] == {"left": 0, "right": 0} for k in ("created", "updated", "tagged", "untagged"))


def test_an_unsubscribe_in_mailchimp_tags_the_google_contact_and_the_stripe_customer(apps: Apps) -> None:
    member = apps.mailchimp.add_record({"email": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace"})
    apps.mailchimp.add_record({"email": "grace@example.com", "FNAME": "Grace", "LNAME": "Hopper"})
    contact = apps.google.add_record({"email": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace"})
    customer = apps.stripe.add_record({"email": "ada@example.com", "name": "Ada Lovelace"})
    apps.stripe.add_record({"email": "ludwig@example.com", "name": "Ludwig van Beethoven"})

    first = apps.run("audience-contacts")
    assert first["created"] == {"left": 0, "right": 1}, "Grace is new to Google; Ada is matched by email"
    assert [(r["givenName"], r["familyName"]) for r in apps.google.records() if r["email"] == "grace@example.com"] \
        == [("Grace", "Hopper")], "the default mailchimp__google_contacts mapping carried the name parts"
    assert apps.run("billing-audience")["created"] == {"left": 0, "right": 1}, "Ludwig joins the audience"
    ludwig = next(r for r in apps.mailchimp.records() if r["email"] == "ludwig@example.com")
    assert (ludwig["FNAME"], ludwig["LNAME"], ludwig["status"]) == ("Ludwig", "van Beethoven", "subscribed")
    apps.run("audience-contacts")  # Ludwig goes on to Google
    assert wrote_nothing(apps.run("audience-contacts")) and wrote_nothing(apps.run("billing-audience"))

    list_id = apps.mailchimp.store.list_id
    unsubscribed = httpx.patch(f"{apps.servers[0].base_url}/3.0/lists/{list_id}/members/{member}",
                               json={"status": "unsubscribed"}, auth=("web-app", apps.mailchimp.state.api_key))
    assert unsubscribed.status_code == 200 and unsubscribed.json()["status"] == "unsubscribed"

    to_google = apps.run("audience-contacts")
    assert to_google["tagged"] == {"left": 0, "right": 1}
    assert apps.google.tags_of(contact) == {TAG}
    to_stripe = apps.run("billing-audience")
    assert to_stripe["tagged"] == {"left": 1, "right": 0}
    [ada] = [r for r in apps.stripe.records() if r["id"] == customer]
    assert TAG in ada["tags"]
    assert apps.mailchimp.status_of(member) == "unsubscribed", "nothing resubscribed the member"

    assert wrote_nothing(apps.run("audience-contacts")), "the tag is written once"
    assert wrote_nothing(apps.run("billing-audience"))
    assert next(r for r in apps.mailchimp.records() if r["email"] == "grace@example.com")["status"] == "subscribed"


def test_someone_who_already_unsubscribed_is_created_with_the_tag_in_one_run(apps: Apps) -> None:
    member = apps.mailchimp.add_record({"email": "gone@example.com", "FNAME": "Gone"})
    apps.mailchimp.unsubscribe(member)
    first = apps.run("audience-contacts")
    assert first["created"] == {"left": 0, "right": 1}
    [contact] = apps.google.records()
    assert apps.google.tags_of(contact["id"]) == {TAG}
    assert wrote_nothing(apps.run("audience-contacts")), "nothing is left for the run after"
