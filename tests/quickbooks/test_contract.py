"""The engine's connector contract suite, run against the QuickBooks sandbox over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from connectors.quickbooks.sandbox import QuickBooksSandbox
from engine.connector import Connector
from engine.records import WriteRequest
from engine.testing.contract import ConnectorContract, unique_email

EMAIL = "PrimaryEmailAddr.Address"


class TestQuickBooksContract(ConnectorContract):
    sample_fields = {"GivenName": "Ada", "FamilyName": "Lovelace", "BillAddr.City": "London", "Active": True}
    changed_fields = {"FamilyName": "King", "Notes": "prefers email"}
    rejected_fields = {EMAIL: "not-an-email-address"}

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

    def test_sparse_update_changes_only_named_fields(self, connector_factory: Callable[[], Connector]) -> None:
        """The suite's version reads a field literally called `email`; this one reads the match field."""
        fields = self.fields_for_create()

        async def body(connector: Connector) -> None:
            [created] = await connector.upsert([WriteRequest(key=uuid.uuid4().hex, id=None, fields=fields)])
            assert created.id is not None
            [updated] = await connector.upsert(
                [WriteRequest(key=uuid.uuid4().hex, id=created.id, fields=self.changed_fields)]
            )
            assert updated.ok, updated.error
            fetched = await connector.get(created.id)
            assert fetched is not None
            for name, value in self.changed_fields.items():
                assert fetched.get(name) == value
            for name in (EMAIL, "GivenName", "BillAddr.City", "DisplayName"):
                assert fetched.get(name) == fields[name], f"{name} was not named in the update and must stay"

        self.go(connector_factory, body)
