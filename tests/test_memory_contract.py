"""The connector contract suite, run against the in-memory reference connector."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from engine.connector import Connector, ConnectorContext
from engine.testing.contract import ConnectorContract
from engine.testing.memory import MemoryConnector, MemorySettings, MemoryStore


class StoreEditor:
    """Edits the memory store as a user of the app would."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def add_record(self, fields: dict[str, Any]) -> str:
        return self.store.add(fields)

    def update_record(self, record_id: str, fields: dict[str, Any]) -> None:
        self.store.edit(record_id, fields)

    def delete_record(self, record_id: str) -> None:
        self.store.delete(record_id)


class TestMemoryConnector(ConnectorContract):
    sample_fields = {"name": "Ada Lovelace", "phone": "+442079460000"}
    changed_fields = {"name": "Ada King"}
    rejected_fields = {"created": "2020-01-01"}

    def raw_tags(self, outside: StoreEditor, record_id: str) -> list[str]:
        return list(outside.store.records[record_id].tags)

    @pytest.fixture
    def store_name(self) -> str:
        return f"contract-{uuid.uuid4().hex}"

    @pytest.fixture
    def connector_factory(self, store_name: str) -> Callable[[], Connector]:
        return lambda: MemoryConnector(MemorySettings(store=store_name, page_size=2), ConnectorContext("test"))

    @pytest.fixture
    def outside(self, store_name: str) -> StoreEditor:
        return StoreEditor(MemoryStore.named(store_name))
