"""A Hypothesis state machine throws random creates, edits and deletes at two in-memory sides between runs.

Edits touch every mapped field, the match key (email) included. Runs go with
and without `--force`; a low breaker makes some of them stop, and a stopped
run must write nothing. After every run: linked records agree on every
mapped field, each field holds the value a model of the conflict rule
predicts (the side that changed; both changed: the newest change, a tie to
the left), every live record is linked, a second run plans no writes, and a
one-way connection never writes into its source.

Profiles (tests/conftest.py, chosen by HYPOTHESIS_PROFILE): `ci` (the default)
is derandomised, so a failure reproduces run after run; `explore` draws fresh
examples, many more of them and longer, for nightly runs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
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
                    "breaker": {"max_share": 0.5, "min_records": 1},
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
        self.agreed: dict[tuple[str, str], dict[str, Any]] = {}  # link -> field values after the last run

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
            self.edited(side, ids[pick % len(ids)], field)

    def edited(self, side: str, record_id: str, field: str) -> None:
        """Overridden by the one-way machine, which tracks edits made in its target."""

    @precondition(lambda self: self.agreed)
    @rule(pick=st.integers(min_value=0), field=st.sampled_from(FIELDS), first=sides, values=st.tuples(values, values))
    def edit_both(self, pick: int, field: str, first: str, values: tuple[Any, Any]) -> None:
        """A conflict: one field of a linked pair edited on both sides, `first` side first."""
        pairs = sorted(self.agreed)
        ids = dict(zip(("left", "right"), pairs[pick % len(pairs)], strict=True))
        for side, value in zip((first, "right" if first == "left" else "left"), values, strict=True):
            if not self.stores[side].records[ids[side]].deleted:
                self.stores[side].edit(ids[side], {field: value})
                self.edited(side, ids[side], field)

    @precondition(lambda self: self.live("left") or self.live("right"))
    @rule(side=sides, pick=st.integers(min_value=0), shout=st.booleans())
    def edit_email(self, side: str, pick: int, shout: bool) -> None:
        """The match key changes: to a new address, or to the same one in capitals."""
        ids = self.live(side)
        if ids:
            record_id = ids[pick % len(ids)]
            current = str(self.stores[side].records[record_id].fields.get("email", ""))
            email = current.upper() if shout and current else f"moved{next(_emails)}@example.com"
            self.stores[side].edit(record_id, {"email": email})
            self.edited(side, record_id, "email")

    @precondition(lambda self: self.live("left") or self.live("right"))
    @rule(side=sides, pick=st.integers(min_value=0))
    def delete(self, side: str, pick: int) -> None:
        ids = self.live(side)
        if ids:
            self.stores[side].delete(ids[pick % len(ids)])

    @rule(force=st.booleans())
    def sync(self, force: bool) -> None:
        connection = self.loaded.config.connections[0]
        before = {side: _snapshot(store) for side, store in self.stores.items()}
        expected = self.expected_winners()
        report = asyncio.run(run_connection(self.loaded, connection, self.store, force=force))
        if report.status == "blocked":
            assert not force, "--force never stops at the breaker"
            assert {side: _snapshot(store) for side, store in self.stores.items()} == before, "a stopped run wrote"
            report = asyncio.run(run_connection(self.loaded, connection, self.store, force=True))
        assert report.status == "ok", report.summary()
        self.runs += 1
        self.check_one_way(before)
        again = asyncio.run(plan_connection(self.loaded, connection, self.store))
        assert again.plan.writes() == 0, list(again.plan.operations)
        self.check_converged()
        self.check_winners(expected)
        self.agreed = {pair: self.values(*pair) for pair in self.linked_pairs()}

    def linked_pairs(self) -> list[tuple[str, str]]:
        """Links whose two records are both live."""
        return [
            (link.left_id, link.right_id)
            for link in self.store.links("machine")
            if not self.stores["left"].records[link.left_id].deleted
            and not self.stores["right"].records[link.right_id].deleted
        ]

    def values(self, left_id: str, right_id: str) -> dict[str, Any]:
        left = self.stores["left"].records[left_id].fields
        return {field: left.get(field) or None for field in ("email", *FIELDS)}

    def expected_winners(self) -> dict[tuple[str, str, str], Any]:
        """The model of the merge: (left id, right id, field) -> the value the next run must leave on both sides.

        Only one side changed since the last run: its value. Both changed to
        different values: the record changed last wins (`conflict: newest`);
        equal change times go to the left side.
        """
        expected: dict[tuple[str, str, str], Any] = {}
        for (left_id, right_id), base in self.agreed.items():
            left, right = self.stores["left"].records[left_id], self.stores["right"].records[right_id]
            if left.deleted or right.deleted:
                continue
            for field, was in base.items():
                lv, rv = left.fields.get(field) or None, right.fields.get(field) or None
                if lv == rv or rv == was:
                    value = lv
                elif lv == was:
                    value = rv
                else:
                    value = rv if right.updated > left.updated else lv
                expected[(left_id, right_id, field)] = value
        return expected

    def check_winners(self, expected: dict[tuple[str, str, str], Any]) -> None:
        for (left_id, right_id, field), value in expected.items():
            if (left_id, right_id) in self.linked_pairs():
                held = self.values(left_id, right_id)[field]
                assert held == value, f"{field} of {left_id}/{right_id}: {held!r}, the model says {value!r}"

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

    def edited(self, side: str, record_id: str, field: str) -> None:
        if side == "right":
            self.diverged.add((record_id, field))
            return
        for link in self.store.links("machine"):
            if link.left_id == record_id:
                self.diverged.discard((link.right_id, field))

    def check_one_way(self, before: dict[str, dict[str, Any]]) -> None:
        assert _snapshot(self.stores["left"]) == before["left"], "a one-way connection never writes its source"

    def check_winners(self, expected: dict[tuple[str, str, str], Any]) -> None:
        """One way, the source's value always wins; check_converged covers it."""

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


EXPLORING = os.environ.get("HYPOTHESIS_PROFILE") == "explore"
MACHINE_SETTINGS = settings(
    max_examples=400 if EXPLORING else 40,
    stateful_step_count=30 if EXPLORING else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTwoWaySync = SyncMachine.TestCase
TestTwoWaySync.settings = MACHINE_SETTINGS
TestOneWaySync = OneWayMachine.TestCase
TestOneWaySync.settings = MACHINE_SETTINGS
