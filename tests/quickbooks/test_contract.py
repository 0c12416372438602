"""The engine's connector contract suite, run against the QuickBooks sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connectors.quickbooks.sandbox import QuickBooksSandbox
from engine.connector import Connector
from engine.testing.contract import ConnectorContract, unique_email

EMAIL = "PrimaryEmailAddr.Address"


class TestQuickBooksContract(ConnectorContract):
    sample_fields = {"GivenName": "Ada", "FamilyName": "Lovelace", "BillAddr.City": "London", "Active": True}
    changed_fields = {"FamilyName": "King", "Notes": "prefers email"}
    rejected_fields = {EMAIL: "not-an-email-address"}
    email_field = EMAIL

    @pytest.fixture
    def connector_factory(self, make_connector: Callable[..., Connector]) -> Callable[[], Connector]:
        return make_connector

    @pytest.fixture
    def outside(self, sandbox: QuickBooksSandbox) -> QuickBooksSandbox:
        return sandbox

    def fields_for_create(self) -> dict[str, Any]:
        """QuickBooks names its email field PrimaryEmailAddr.Address; DisplayName must be unique."""
        email = unique_email()
        return {**self.sample_fields, "DisplayName": f"Ada Lovelace {email}", EMAIL: email}

    def missing_id(self) -> str:
        return "999999"

