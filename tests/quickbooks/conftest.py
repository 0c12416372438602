"""Fixtures: a QuickBooks sandbox on loopback and connectors pointed at it.

Connectors get short retry waits so fault-injection tests stay fast, and a
context whose credential store is a plain dict (or a JSON file), which is
how the tests prove that a rotated refresh token survives a restart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from connectors.quickbooks.connector import QuickBooksConnector
from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.quickbooks.settings import QuickBooksSettings
from engine.connector import ConnectorContext
from engine.records import Page
from engine.sandbox import SandboxServer
from engine.testing.contract import drive as run  # shared with the tests here

T = TypeVar("T")
FAST = {"retry_max_wait": 0.02, "retry_attempts": 6}


class JsonCredentials:
    """The engine's state store in miniature: credentials kept in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.saves: list[str] = []

    def load(self, key: str) -> str | None:
        if not self.path.exists():
            return None
        value = json.loads(self.path.read_text()).get(key)
        return value if isinstance(value, str) else None

    def save(self, key: str, value: str) -> None:
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        data[key] = value
        self.path.write_text(json.dumps(data))
        self.saves.append(key)

    def context(self) -> ConnectorContext:
        return ConnectorContext("quickbooks-test", load_credential=self.load, save_credential=self.save)


@pytest.fixture
def sandbox() -> QuickBooksSandbox:
    return QuickBooksSandbox()


@pytest.fixture
def server(sandbox: QuickBooksSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def credentials(tmp_path: Path) -> JsonCredentials:
    return JsonCredentials(tmp_path / "state.json")


@pytest.fixture
def make_connector(server: SandboxServer, credentials: JsonCredentials) -> Callable[..., QuickBooksConnector]:
    def make(**overrides: Any) -> QuickBooksConnector:
        settings = QuickBooksSettings(**{**server.settings(), **FAST, **overrides})
        return QuickBooksConnector(settings, credentials.context())

    return make


def pages(connector: QuickBooksConnector, since: Any = None) -> list[Page]:
    async def body(c: QuickBooksConnector) -> list[Page]:
        return [page async for page in c.list(since)]

    return run(connector, body)
