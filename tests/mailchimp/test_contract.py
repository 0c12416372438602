"""The engine's connector contract suite, driven against the Mailchimp sandbox over loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.mailchimp import MailchimpConnector
from connectors.mailchimp.sandbox import MailchimpSandbox
from connectors.mailchimp.sandbox.render import member_json
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

    def raw_tags(self, outside: MailchimpSandbox, record_id: str) -> list[str]:
        """The tag names in the member as the Marketing API renders it (`tags: [{id, name}]`), duplicates kept."""
        with outside.store.lock:
            rendered = member_json(outside.store, outside.store.find(record_id))
        return [tag["name"] for tag in rendered["tags"]]

    def missing_id(self) -> str:
        return "0" * 32
