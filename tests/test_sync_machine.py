"""A Hypothesis state machine throws random creates, edits and deletes at two in-memory sides between runs.

After every run: linked records agree on every mapped field, every live record
is linked, a second run plans no writes, and a one-way connection never
writes into its source.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import uuid
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from engine.config import load_config
from engine.runner import plan_connection, run_connection
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore

FIELDS = ("name", "phone", "company")
values = st.sampled_from(["Ada", "Grace", "Alan", "Katherine", "+15550100", "+15550199", "ACME", "", None])
sides = st.sampled_from(["left", "right"])
_emails = itertools.count()


def _snapshot(store: MemoryStore) -> dict[str, Any]:
    return {rid: (dict(r.fields), sorted(r.tags), r.deleted) for rid, r in store.records.items()}


class SyncMachine(RuleBasedStateMachine):
    direction = "two-way"

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="pairsync-machine-"))
        suffix = uuid.uuid4().hex
        self.stores = {"left": MemoryStore.named(f"left-{suffix}"), "right": MemoryStore.named(f"right-{suffix}")}
        config = {
            "accounts": {
                "a": {"connector": "memory", "settings": {"store": f"left-{suffix}", "page_size": 3}},
                "b": {"connector": "memory", "settings": {"store": f"right-{suffix}", "page_size": 3}},
            },
            "connections": [
                {
                    "name": "machine",
                    "left": "a",
                    "right": "b",
                    "direction": self.direction,
                    "mapping": {
                        "defaults": False,
                        "fields": [{"left": "email", "right": "email"}, *[{"left": f, "right": f} for f in FIELDS]],
                    },
                }
            ],
        }
        path = self.folder / "sync.yaml"
        path.write_text(yaml.safe_dump(config))
        self.loaded = load_config(path)
        self.store = StateStore(f"sqlite:///{self.folder / 'state.db'}")
        self.runs = 0

    def teardown(self) -> None:
        self.store.close()
        for store in self.stores.values():
            MemoryStore.forget(next(k for k, v in MemoryStore._named.items() if v is store))

    def live(self, side: str) -> list[str]:
        return [rid for rid, r in self.stores[side].records.items() if not r.deleted]

    @rule(side=sides, name=values, phone=values)
    def create(self, side: str, name: Any, phone: Any) -> None:
        self.stores[side].add({"email": f"person{next(_emails)}@example.com", "name": name, "phone": phone})

    @precondition(lambda self: self.live("left") or self.live("right"))
    @rule(side=sides, pick=st.integers(min_value=0), field=st.sampled_from(FIELDS), value=values)
    def edit(self, side: str, pick: int, field: str, value: Any) -> None:
        ids = self.live(side)
        if ids:
            self.stores[side].edit(ids[pick % len(ids)], {field: value})

    @precondition(lambda self: self.live("left") or self.live("right"))
    @rule(side=sides, pick=st.integers(min_value=0))
    def delete(self, side: str, pick: int) -> None:
        ids = self.live(side)
        if ids:
            self.stores[side].delete(ids[pick % len(ids)])

    @rule()
    def sync(self) -> None:
        connection = self.loaded.config.connections[0]
        before = {side: _snapshot(store) for side, store in self.stores.items()}
        report = asyncio.run(run_connection(self.loaded, connection, self.store, force=True))
        assert report.status == "ok", report.summary()
        self.runs += 1
        self.check_one_way(before)
        again = asyncio.run(plan_connection(self.loaded, connection, self.store))
        assert again.plan.writes() == 0, list(again.plan.operations)
        self.check_converged()

    def check_one_way(self, before: dict[str, dict[str, Any]]) -> None:
        """Overridden by the one-way machine."""

    def check_converged(self) -> None:
        links = self.store.links("machine")
        for link in links:
            left = self.stores["left"].records[link.left_id]
            right = self.stores["right"].records[link.right_id]
            if left.deleted or right.deleted:
                survivor = right if left.deleted else left
                assert survivor.deleted or "pairsync Trash" in survivor.tags, "a deletion tags the other side"
                continue
            for field in ("email", *FIELDS):
                assert (left.fields.get(field) or None) == (right.fields.get(field) or None), (field, left, right)
        linked = {"left": {link.left_id for link in links}, "right": {link.right_id for link in links}}
        for side in self.writable_sides():
            source = "right" if side == "left" else "left"
            assert set(self.live(source)) <= linked[source], "every live record of a source side is linked"

    def writable_sides(self) -> tuple[str, ...]:
        return ("left", "right")


class OneWayMachine(SyncMachine):
    """Left to right: edits made in the target stay until the source changes that field again."""

    direction = "left-to-right"

    def __init__(self) -> None:
        super().__init__()
        self.diverged: set[tuple[str, str]] = set()  # (right id, field) edited in the target since

    @precondition(lambda self: self.live("left") or self.live("right"))
    @rule(side=sides, pick=st.integers(min_value=0), field=st.sampled_from(FIELDS), value=values)
    def edit(self, side: str, pick: int, field: str, value: Any) -> None:
        ids = self.live(side)
        if not ids:
            return
        record_id = ids[pick % len(ids)]
        self.stores[side].edit(record_id, {field: value})
        if side == "right":
            self.diverged.add((record_id, field))
        else:
            for link in self.store.links("machine"):
                if link.left_id == record_id:
                    self.diverged.discard((link.right_id, field))

    def check_one_way(self, before: dict[str, dict[str, Any]]) -> None:
        assert _snapshot(self.stores["left"]) == before["left"], "a one-way connection never writes its source"

    def check_converged(self) -> None:
        links = self.store.links("machine")
        linked = {link.left_id for link in links}
        assert set(self.live("left")) <= linked
        for link in links:
            left = self.stores["left"].records[link.left_id]
            right = self.stores["right"].records[link.right_id]
            if left.deleted or right.deleted:
                continue
            for field in ("email", *FIELDS):
                if (link.right_id, field) in self.diverged:
                    continue
                assert (left.fields.get(field) or None) == (right.fields.get(field) or None), field


MACHINE_SETTINGS = settings(
    max_examples=40, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestTwoWaySync = SyncMachine.TestCase
TestTwoWaySync.settings = MACHINE_SETTINGS
TestOneWaySync = OneWayMachine.TestCase
TestOneWaySync.settings = MACHINE_SETTINGS
