"""A connection between two in-memory accounts, configured from YAML and run with the real runner."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import load_config
from engine.config.loaded import LoadedConfig
from engine.planner.model import Skip
from engine.runner import Report, plan_connection, run_connection
from engine.state.store import StateStore
from engine.testing.memory import MemoryConnector, MemoryStore


class Sync:
    """Two memory stores joined by one connection named `c`; `run()` is one `pairsync run`."""

    def __init__(self, tmp_path: Path, connection: dict[str, Any], **account_settings: dict[str, Any]) -> None:
        self.tmp_path = tmp_path
        tag = uuid.uuid4().hex[:8]
        self.names = {"left": f"left-{tag}", "right": f"right-{tag}"}
        self.left = MemoryStore.named(self.names["left"])
        self.right = MemoryStore.named(self.names["right"])
        accounts = {
            side: {"connector": "memory", "settings": {"store": self.names[side], **account_settings.get(side, {})}}
            for side in ("left", "right")
        }
        self.config = {
            "accounts": accounts,
            "connections": [{"name": "c", "left": "left", "right": "right", **connection}],
        }
        self.path = tmp_path / "pairsync.yaml"
        self.path.write_text(yaml.safe_dump(self.config, allow_unicode=True))
        self.loaded: LoadedConfig = load_config(self.path)
        self.store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")

    def run(self, **options: Any) -> Report:
        connection = self.loaded.config.connection("c")
        return asyncio.run(run_connection(self.loaded, connection, self.store, **options))

    def plan(self, full: bool = False) -> Report:
        connection = self.loaded.config.connection("c")
        return asyncio.run(plan_connection(self.loaded, connection, self.store, full=full))

    def lose_state(self) -> None:
        """Delete the state database, as a user who lost `.pairsync/` would."""
        self.store.close()
        (self.tmp_path / "state.db").unlink()
        self.store = StateStore(f"sqlite:///{self.tmp_path / 'state.db'}")

    def fields(self, side: str) -> list[dict[str, Any]]:
        store = self.left if side == "left" else self.right
        return [dict(r.fields) for r in store.live().values()]

    def only(self, side: str) -> dict[str, Any]:
        """The one record of a side, without the origin stamp pairsync keeps on records it created."""
        found = self.fields(side)
        assert len(found) == 1, found
        return {k: v for k, v in found[0].items() if k != MemoryConnector.origin_field}

    def close(self) -> None:
        self.store.close()
        for name in self.names.values():
            MemoryStore.forget(name)


def skips(report: Report, side: str | None = None) -> dict[str, str]:
    """Record id -> why the plan left it out (of one side when named: memory ids repeat across sides)."""
    return {op.record_id: op.reason for op in report.plan.of(Skip) if side in (None, op.side)}


@pytest.fixture
def make_sync(tmp_path: Path) -> Iterator[Any]:
    made: list[Sync] = []

    def make(connection: dict[str, Any] | None = None, **account_settings: dict[str, Any]) -> Sync:
        sync = Sync(tmp_path, connection or {}, **account_settings)
        made.append(sync)
        return sync

    yield make
    for sync in made:
        sync.close()
