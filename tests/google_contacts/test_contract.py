"""The engine's connector contract suite, driven against the People API sandbox over loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.google_contacts import GoogleContactsConnector
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.testing.contract import ConnectorContract


class TestGoogleContactsContract(ConnectorContract):
    sample_fields = {"givenName": "Ada", "familyName": "Lovelace", "phone": "+442079460000", "company": "Engines"}
    changed_fields = {"familyName": "King", "userDefined.plan": "gold"}
    rejected_fields = {"phone": "call me maybe"}

    @pytest.fixture
    def connector_factory(
        self, make_connector: Callable[..., GoogleContactsConnector]
    ) -> Callable[[], GoogleContactsConnector]:
        return make_connector

    @pytest.fixture
    def outside(self, sandbox: GoogleContactsSandbox) -> GoogleContactsSandbox:
        return sandbox

    def raw_tags(self, outside: GoogleContactsSandbox, record_id: str) -> list[str]:
        """The names of the user labels in the contact's `memberships`, as the People API renders them."""
        with outside.store.lock:
            contact = outside.store.live(record_id)
            rendered = outside.store.render(contact, {"memberships"})
            groups = outside.store.groups
            names = []
            for membership in rendered.get("memberships", []):
                resource = membership["contactGroupMembership"]["contactGroupResourceName"]
                if groups[resource].group_type == "USER_CONTACT_GROUP":
                    names.append(groups[resource].name)
        return names

    def missing_id(self) -> str:
        return "people/c404"
