"""Shared fixtures: a Stripe sandbox on loopback and connectors pointed at it with fast limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from connectors.stripe import StripeConnector, StripeSettings
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import ConnectorContext
from engine.records import Page, Record
from engine.sandbox import SandboxServer

T = TypeVar("T")
FAST = {"requests_per_second": 2000.0, "max_retry_wait_seconds": 0.05, "timeout_seconds": 5.0}


def settings_for(server: SandboxServer, **overrides: Any) -> StripeSettings:
    return StripeSettings(**{**server.settings(), **FAST, **overrides})


def run(connector: StripeConnector, body: Callable[[StripeConnector], Coroutine[Any, Any, T]]) -> T:
    """Run `body` in a fresh event loop and close the connector afterwards."""

    async def main() -> T:
        try:
            return await body(connector)
        finally:
            await connector.aclose()

    return asyncio.run(main())


async def read_all(connector: StripeConnector, since: Any = None) -> tuple[list[Page], list[Record]]:
    pages = [page async for page in connector.list(since)]
    return pages, [record for page in pages for record in page.records]


@pytest.fixture(scope="module")
def sandbox() -> StripeSandbox:
    return StripeSandbox(seed=0)


@pytest.fixture(scope="module")
def server(sandbox: StripeSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def make_connector(server: SandboxServer) -> Callable[..., StripeConnector]:
    """A connector for the shared sandbox; keyword arguments override settings."""

    def make(context: ConnectorContext | None = None, **overrides: Any) -> StripeConnector:
        return StripeConnector(settings_for(server, **overrides), context or ConnectorContext("stripe-test"))

    return make
