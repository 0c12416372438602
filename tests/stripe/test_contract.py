"""The engine's connector contract, run against the Stripe sandbox through the real SDK."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.stripe import StripeConnector
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

    def missing_id(self) -> str:
        return "cus_doesnotexist0000"
