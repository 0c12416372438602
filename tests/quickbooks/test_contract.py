"""The engine's connector contract suite, run against the QuickBooks sandbox over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from connectors.quickbooks import tags
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

    def raw_tags(self, outside: QuickBooksSandbox, record_id: str) -> list[str]:
        """Every tag of every tag line in the customer's Notes, as QuickBooks stores the text."""
        notes = str(outside.store.get(record_id).get("Notes") or "")
        lines = [line[len(tags.PREFIX) :] for line in notes.splitlines() if line.startswith(tags.PREFIX)]
        return [tag for line in lines for tag in json.loads(line)]

    def missing_id(self) -> str:
        return "999999"

