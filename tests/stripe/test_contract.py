"""The engine's connector contract, run against the Stripe sandbox through the real SDK."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.stripe import StripeConnector
from connectors.stripe.fields import TAGS_KEY
from connectors.stripe.sandbox import StripeSandbox
from engine.testing.contract import ConnectorContract


class TestStripeContract(ConnectorContract):
    sample_fields = {"name": "Ada Lovelace", "phone": "+442079460000", "address.city": "London", "metadata.plan": "pro"}
    changed_fields = {"name": "Ada King", "metadata.plan": "team"}
    rejected_fields = {"email": "not-an-email"}

    @pytest.fixture
    def connector_factory(self, make_connector: Callable[..., StripeConnector]) -> Callable[[], StripeConnector]:
        return make_connector

    @pytest.fixture
    def outside(self, sandbox: StripeSandbox) -> StripeSandbox:
        return sandbox

    def raw_tags(self, outside: StripeSandbox, record_id: str) -> list[str]:
        """The comma-separated metadata value the connector keeps its tags in, as Stripe stores it."""
        with outside.store.lock:
            value = (outside.store.objects[record_id].get("metadata") or {}).get(TAGS_KEY, "")
        return [tag for tag in str(value).split(",") if tag]

    def missing_id(self) -> str:
        return "cus_doesnotexist0000"
