"""Fixtures: a fresh Mailchimp sandbox on loopback per test, and connectors pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.mailchimp import MailchimpConnector, MailchimpSettings
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.connector import ConnectorContext
from engine.sandbox import SandboxServer
from engine.testing.contract import drive as drive  # shared with the tests here

# Short waits keep retries fast; the sandbox has no rate of its own unless a test sets one.
FAST = {"retry_attempts": 4, "max_retry_wait_seconds": 0.2, "timeout_seconds": 10.0}


@pytest.fixture
def sandbox() -> MailchimpSandbox:
    return MailchimpSandbox()


@pytest.fixture
def server(sandbox: MailchimpSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def raw_settings(server: SandboxServer) -> dict[str, Any]:
    return {**server.settings(), **FAST}


@pytest.fixture
def settings(raw_settings: dict[str, Any]) -> MailchimpSettings:
    return MailchimpSettings(**raw_settings)


@pytest.fixture
def context() -> ConnectorContext:
    return ConnectorContext("test")


@pytest.fixture
def make_connector(raw_settings: dict[str, Any], context: ConnectorContext) -> Callable[..., MailchimpConnector]:
    """A connector for the sandbox audience; keyword arguments override settings (validated, like a config)."""

    def make(**overrides: Any) -> MailchimpConnector:
        return MailchimpConnector(MailchimpSettings(**{**raw_settings, **overrides}), context)

    return make
