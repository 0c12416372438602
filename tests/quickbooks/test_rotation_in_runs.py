"""Refresh-token rotation through the engine's own state store, across two complete runs.

The connector tests keep credentials in a JSON file; here the runner's
StateStore (SQLite and PostgreSQL) holds them. With forced rotation every
refresh invalidates the token it used, so the second run can only succeed
with the token the first run saved through the store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from connectors.quickbooks.auth import REFRESH_TOKEN_KEY
from connectors.quickbooks.sandbox import QuickBooksSandbox
from engine.config import load_config
from engine.runner import run_connection
from engine.sandbox import SandboxServer
from engine.state.crypto import KEY_VARIABLE
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore
from tests.quickbooks.test_auth import refresh_with


def write_config(folder: Path, server: SandboxServer, memory: str) -> Path:
    qb = server.settings()
    settings = {key: qb[key] for key in ("base_url", "token_url", "client_id", "realm_id")}
    config = {
        "accounts": {
            "books": {
                "connector": "quickbooks",
                "settings": {
                    **settings,
                    "client_secret": "${TEST_QB_SECRET}",
                    "refresh_token": "${TEST_QB_REFRESH}",
                    "retry_max_wait": 0.02,
                },
            },
            "book": {"connector": "memory", "settings": {"store": memory}},
        },
        "connections": [{"name": "books-to-memory", "left": "books", "right": "book", "direction": "left-to-right"}],
    }
    path = folder / "pairsync.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_rotated_refresh_token_is_kept_by_the_state_store_between_runs(
    tmp_path: Path, state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "test-key-for-credentials-on-a-database-server")  # needed beyond SQLite
    sandbox = QuickBooksSandbox()
    sandbox.seed(3)
    sandbox.tokens.force_rotation = True
    memory = f"rotation-{tmp_path.name}"
    try:
        with SandboxServer(sandbox) as server:
            environ = {"TEST_QB_SECRET": sandbox.client_secret, "TEST_QB_REFRESH": sandbox.initial_refresh_token}
            loaded = load_config(write_config(tmp_path, server, memory), environ=environ)
            connection = loaded.config.connection("books-to-memory")
            tokens = [sandbox.initial_refresh_token]
            for run in (1, 2):
                store = StateStore(state_url)  # a new process would open the store afresh, too
                try:
                    report = asyncio.run(run_connection(loaded, connection, store))
                    assert report.status == "ok", (run, report.summary())
                    tokens.append(store.credential("books", REFRESH_TOKEN_KEY) or "")
                finally:
                    store.close()
            assert len(MemoryStore.named(memory).records) == 3, "both runs read QuickBooks"
            assert len(set(tokens)) == 3 and "" not in tokens, "each run rotated the token and the store kept it"
            for stale in tokens[:2]:
                assert refresh_with(server, stale).json() == {"error": "invalid_grant"}, "older tokens are refused"
            assert sandbox.tokens.grants >= 2
    finally:
        MemoryStore.forget(memory)
