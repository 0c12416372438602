"""Fixtures: a fresh People API sandbox on loopback per test, and connectors pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from connectors.google_contacts import GoogleContactsConnector, GoogleContactsSettings
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.connector import ConnectorContext
from engine.sandbox import SandboxServer
from engine.testing.contract import drive as drive  # shared with the tests here

T = TypeVar("T")

# Short waits keep retries fast; the sandbox has no quota of its own unless a test sets one.
FAST = {"retry_attempts": 4, "max_retry_wait_seconds": 0.2, "timeout_seconds": 5.0}


@pytest.fixture
def sandbox() -> GoogleContactsSandbox:
    return GoogleContactsSandbox()


@pytest.fixture
def server(sandbox: GoogleContactsSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def settings(server: SandboxServer) -> GoogleContactsSettings:
    return GoogleContactsSettings(**{**server.settings(), **FAST})


@pytest.fixture
def context() -> ConnectorContext:
    return ConnectorContext("test")


@pytest.fixture
def make_connector(
    settings: GoogleContactsSettings, context: ConnectorContext
) -> Callable[..., GoogleContactsConnector]:
    """A connector for the sandbox account; keyword arguments override settings."""

    def make(**overrides: Any) -> GoogleContactsConnector:
        return GoogleContactsConnector(settings.model_copy(update=overrides), context)

    return make


