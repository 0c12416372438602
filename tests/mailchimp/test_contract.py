"""The engine's connector contract suite, driven against the Mailchimp sandbox over loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.mailchimp import MailchimpConnector
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.testing.contract import ConnectorContract


class TestMailchimpContract(ConnectorContract):
    sample_fields = {"FNAME": "Ada", "LNAME": "Lovelace", "PHONE": "+442079460000", "merge_fields.PLAN": "Pro"}
    changed_fields = {"LNAME": "King", "merge_fields.STAGE": "customer"}
    rejected_fields = {"email": "ada at example dot com"}

    @pytest.fixture
    def connector_factory(self, make_connector: Callable[..., MailchimpConnector]) -> Callable[[], MailchimpConnector]:
        return make_connector

    @pytest.fixture
    def outside(self, sandbox: MailchimpSandbox) -> MailchimpSandbox:
        return sandbox

    def missing_id(self) -> str:
        return "0" * 32
