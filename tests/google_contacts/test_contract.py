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

    def missing_id(self) -> str:
        return "people/c404"
