"""Running plans against real (in-memory) connectors: failures stay alone, resumed runs never duplicate."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.config import LoadedConfig, load_config
from engine.runner import Report, plan_connection, run_connection
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore


class Pair:
    """Two in-memory accounts joined by one connection, with state on the given URL."""

    def __init__(
        self, folder: Path, state_url: str, right_settings: dict[str, Any] | None = None, **connection: Any
    ) -> None:
        suffix = uuid.uuid4().hex
        self.names = (f"left-{suffix}", f"right-{suffix}")
        self.left = MemoryStore.named(self.names[0])
        self.right = MemoryStore.named(self.names[1])
        config = {
            "state": state_url,
            "accounts": {
                "crm": {"connector": "memory", "settings": {"store": self.names[0]}},
                "shop": {"connector": "memory", "settings": {"store": self.names[1], **(right_settings or {})}},
            },
            "connections": [{"name": "sync", "left": "crm", "right": "shop", **connection}],
        }
        (folder / "sync.yaml").write_text(yaml.safe_dump(config))
        self.loaded: LoadedConfig = load_config(folder / "sync.yaml")
        self.store = StateStore(state_url)

    def run(self, **options: Any) -> Report:
        return asyncio.run(run_connection(self.loaded, self.loaded.config.connections[0], self.store, **options))

    def plan(self) -> Report:
        return asyncio.run(plan_connection(self.loaded, self.loaded.config.connections[0], self.store))

    def close(self) -> None:
        self.store.close()
        for name in self.names:
            MemoryStore.forget(name)


@pytest.fixture
def pair(tmp_path: Path, state_url: str) -> Iterator[Pair]:
    made = Pair(tmp_path, state_url)
    yield made
    made.close()


def emails(store: MemoryStore) -> list[str]:
    return sorted(r.fields["email"] for r in store.live().values())


def test_a_failing_record_fails_alone_and_is_retried_next_run(pair: Pair) -> None:
    for person in ("ada", "grace", "alan"):
        pair.left.add({"email": f"{person}@example.com", "name": person.title()})
    pair.right.fail_ids.add("grace@example.com")
    first = pair.run()
    assert first.status == "failed"
    assert first.summary()["failed"] == 1
    assert first.summary()["created"] == {"left": 0, "right": 2}
    failures = pair.store.failures("sync")
    assert [(f["side"], f["error"][:24]) for f in failures] == [("left", "create on right failed: ")]
    pair.right.fail_ids.clear()
    second = pair.run()
    assert second.status == "ok"
    assert second.summary()["created"] == {"left": 0, "right": 1}, "the failed record was read again and written"
    assert emails(pair.right) == ["ada@example.com", "alan@example.com", "grace@example.com"]
    assert pair.store.failures("sync") == []


def test_a_lost_response_resumes_with_the_same_idempotency_key(pair: Pair) -> None:
    for index in range(5):
        pair.left.add({"email": f"p{index}@example.com", "name": f"P{index}"})
    pair.right.lose_responses = 1
    first = pair.run()
    assert first.status == "failed"
    assert len(pair.right.live()) == 5, "the writes landed even though their answer was lost"
    assert pair.store.pending("sync"), "the journal remembers the unfinished creates"
    second = pair.run()
    assert second.status == "ok"
    assert len(pair.right.live()) == 5, "resuming created no duplicate"
    assert len(pair.store.links("sync")) == 5
    assert pair.store.pending("sync") == {}


def test_without_idempotency_keys_a_resumed_run_matches_before_creating(tmp_path: Path, state_url: str) -> None:
    pair = Pair(tmp_path, state_url, right_settings={"idempotency": False})
    try:
        for index in range(4):
            pair.left.add({"email": f"p{index}@example.com"})
        pair.right.lose_responses = 1
        assert pair.run().status == "failed"
        assert len(pair.right.live()) == 4
        second = pair.run()
        assert second.status == "ok", second.summary()
        assert len(pair.right.live()) == 4, "the landed creates were matched by email, not created again"
        assert second.summary()["linked"] == {"total": 4, "new": 4}
        assert pair.store.pending("sync") == {}
    finally:
        pair.close()


def test_a_failed_update_keeps_its_old_base_and_is_applied_next_run(pair: Pair) -> None:
    record = pair.left.add({"email": "ada@example.com", "name": "Ada"})
    pair.run()
    [right_id] = list(pair.right.live())
    pair.left.edit(record, {"name": "Ada King"})
    pair.right.fail_ids.add(right_id)
    assert pair.run().status == "failed"
    pair.right.fail_ids.clear()
    assert pair.run().status == "ok"
    assert pair.right.records[right_id].fields["name"] == "Ada King"
    assert pair.plan().plan.writes() == 0


def test_a_run_after_a_run_writes_nothing_and_reads_only_changes(pair: Pair) -> None:
    for index in range(120):
        pair.left.add({"email": f"p{index}@example.com", "name": f"P{index}"})
    pair.run()
    echo = pair.run()
    assert echo.plan.writes() == 0, "our own writes come back in the change feed and are recognised"
    quiet = pair.run()
    assert quiet.plan.writes() == 0
    assert quiet.requests == {"left": 1, "right": 1}, "one page of changes per side"


def test_the_breaker_stops_before_writing_and_force_goes_on(pair: Pair) -> None:
    ids = [pair.left.add({"email": f"p{index}@example.com", "name": "Old"}) for index in range(10)]
    pair.run()
    for record_id in ids[:8]:
        pair.left.edit(record_id, {"name": "New"})
    blocked = pair.run()
    assert blocked.status == "blocked"
    assert "--force" in (blocked.plan.blocked or "")
    assert sorted(r.fields["name"] for r in pair.right.live().values()).count("Old") == 10
    forced = pair.run(force=True)
    assert forced.summary()["updated"]["right"] == 8


def test_a_deletion_tags_the_linked_record_and_never_deletes_it(pair: Pair) -> None:
    record = pair.left.add({"email": "ada@example.com"})
    pair.run()
    pair.left.delete(record)
    report = pair.run()
    assert report.summary()["tagged"] == {"left": 0, "right": 1}
    [survivor] = pair.right.live().values()
    assert survivor.tags == {"pairsync Trash"}
    assert pair.run().plan.writes() == 0, "tagged once"


def test_only_one_run_of_a_connection_at_a_time(pair: Pair) -> None:
    assert pair.store.acquire("run:sync", "someone-else")
    busy = pair.run()
    assert busy.status == "busy"
    pair.store.release("run:sync", "someone-else")
    assert pair.run().status == "ok"
