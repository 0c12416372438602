"""Two processes sharing a QuickBooks company never break each other's rotating refresh token.

Before: a `plan` beside a `run` (or two connections on one company) each held
the refresh token read at start; the first to refresh rotated it, the second
failed with "reconnect the company" although the stored token worked. Now
refreshes are serialised per account through the state store, the stored token
is read again before each refresh, and once more after `invalid_grant`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.quickbooks.auth import REFRESH_TOKEN_KEY
from connectors.quickbooks.connector import QuickBooksConnector
from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.quickbooks.settings import QuickBooksSettings
from engine.connector import ConnectorContext
from engine.sandbox import SandboxServer
from engine.state.store import StateStore

ACCOUNT = "books"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    sandbox = QuickBooksSandbox()
    sandbox.seed(2)
    sandbox.tokens.force_rotation = True  # every refresh replaces the refresh token
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    yield store
    store.close()


def context(store: StateStore) -> ConnectorContext:
    """A context backed by the state store, as a run's session builds it."""
    return ConnectorContext(
        ACCOUNT,
        lambda key: store.credential(ACCOUNT, key),
        lambda key, value: store.save_credential(ACCOUNT, key, value),
        lambda key: store.exclusive(f"credential:{ACCOUNT}:{key}"),
    )


def connector(server: SandboxServer, ctx: ConnectorContext) -> QuickBooksConnector:
    return QuickBooksConnector(QuickBooksSettings(**server.settings(), retry_max_wait=0.02), ctx)


async def read(connectors: list[QuickBooksConnector]) -> list[object]:
    try:
        return list(await asyncio.gather(*(c.get("1") for c in connectors)))
    finally:
        for c in connectors:
            await c.aclose()


def test_a_second_process_refreshing_after_the_first_rotated_uses_the_stored_token(
    server: SandboxServer, shared: StateStore
) -> None:
    plan, run = connector(server, context(shared)), connector(server, context(shared))  # both read the token now
    assert asyncio.run(read([run])) != [None]  # `run` refreshes: the token `plan` holds is replaced
    assert asyncio.run(read([plan])) != [None], "the stored token works: no 'reconnect the company'"


def test_refreshes_at_once_from_many_processes_all_succeed(server: SandboxServer, shared: StateStore) -> None:
    many = [connector(server, context(shared)) for _ in range(6)]
    assert None not in asyncio.run(read(many))
    stored = shared.credential(ACCOUNT, REFRESH_TOKEN_KEY)
    assert stored in server.sandbox.tokens.refresh_tokens, "the token saved last is the one that works"


def test_invalid_grant_reads_the_stored_token_again_and_retries_once(server: SandboxServer, shared: StateStore) -> None:
    """A process that shares no lock rotates the token between this one's read and its refresh."""
    settings = server.settings()
    basic = base64.b64encode(f"{settings['client_id']}:{settings['client_secret']}".encode()).decode()
    reads = {"n": 0}

    def load_then_rotate(key: str) -> str | None:
        current = shared.credential(ACCOUNT, key) or settings["refresh_token"]
        reads["n"] += 1
        if reads["n"] == 2:  # right after this process read it before refreshing, the other one rotates it
            answer = httpx.post(
                settings["token_url"],
                data={"grant_type": "refresh_token", "refresh_token": current},
                headers={"Authorization": f"Basic {basic}"},
            ).json()
            shared.save_credential(ACCOUNT, key, answer["refresh_token"])
        return current

    racing = ConnectorContext(
        ACCOUNT, load_then_rotate, lambda key, value: shared.save_credential(ACCOUNT, key, value)
    )
    assert asyncio.run(read([connector(server, racing)])) != [None]
    assert reads["n"] >= 3, "read at start, before the refresh, and again after invalid_grant"
