"""Creates sent while reading (engine/streaming.py) end exactly where the whole plan, made after every read, ends.

Two identical pairs of in-memory accounts are synced: one by a run that
streams creates, one by a run that plans everything first. Whatever the
records (duplicate emails within a side, emails already on the other side,
records without an email, copies stamped with their origin, an IF condition
that looks at the other side, a THEN tag), both runs must report the same
plan, leave the same records and links, and the run after must find nothing
to do. A source whose pages arrive slowly gets its first creates out before
its last page is read (seen through the run's progress phases, not timing).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.config import load_config
from engine.planner.model import Conflict, Create, LinkOnly, Plan, Skip, Tag, Update
from engine.runner import Report, SideRead, plan_connection, run_connection
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore

STAMP = "custom.pairsync_origin"
FIELDS = ("email", "name", "company")
emails = st.sampled_from(["ann@x.io", "ANN@x.io", "bob@x.io", "cy@x.io", "dee@x.io", "eve@x.io", None])
companies = st.sampled_from(["Acme", "Left out", None])
person = st.fixed_dictionaries({"email": emails, "company": companies, "name": st.sampled_from(["A", "B", None])})


class World:
    """A pair of memory accounts, a connection between them and its state; `latency_ms` slows the left reads."""

    def __init__(self, folder: Path, latency_ms: float = 0.0, extra: dict[str, Any] | None = None) -> None:
        suffix = uuid.uuid4().hex
        self.stores = {"left": MemoryStore.named(f"l-{suffix}"), "right": MemoryStore.named(f"r-{suffix}")}
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "accounts": {
                "a": {"connector": "memory",
                      "settings": {"store": f"l-{suffix}", "page_size": 3, "latency_ms": latency_ms}},
                "b": {"connector": "memory", "settings": {"store": f"r-{suffix}", "page_size": 3}},
            },
            "connections": [{
                "name": "c", "left": "a", "right": "b",
                "mapping": {"defaults": False, "fields": [{"left": f, "right": f} for f in FIELDS]},
                **(extra or {}),
            }],
        }
        path = folder / "sync.yaml"
        path.write_text(yaml.safe_dump(config))
        self.loaded = load_config(path)
        self.state = StateStore(f"sqlite:///{folder / 'state.db'}")

    def seed(self, side: str, people: list[dict[str, Any]]) -> None:
        for fields in people:
            self.stores[side].add({k: v for k, v in fields.items() if v is not None})

    def run(self, stream: bool = True, phases: Any = None) -> Report:
        connection = self.loaded.config.connection("c")
        return asyncio.run(run_connection(self.loaded, connection, self.state, stream=stream, phases=phases))

    def dry_run(self) -> Report:
        return asyncio.run(plan_connection(self.loaded, self.loaded.config.connection("c"), self.state))

    def records(self) -> dict[str, Counter[str]]:
        """Each side's live records, a created one named by the record it was made from (its origin stamp)."""
        return {
            side: Counter(
                f"{sorted((k, v) for k, v in r.fields.items() if k != STAMP)} from {r.fields.get(STAMP)}"
                for r in store.live().values()
            )
            for side, store in self.stores.items()
        }

    def links(self) -> set[tuple[str, str]]:
        def named(side: str, record_id: str) -> str:
            origin = self.stores[side].records[record_id].fields.get(STAMP)
            return f"copy of {origin}" if origin else record_id

        return {(named("left", link.left_id), named("right", link.right_id)) for link in self.state.links("c")}


def shown(plan: Plan) -> Counter[str]:
    """A plan as a user reads it, without the random keys of its writes."""
    rows: list[str] = []
    for op in plan.operations:
        if isinstance(op, Create):
            rows.append(f"create {op.side} from {op.source_id}: {sorted(op.fields.items())} {op.tags} {op.base}")
        elif isinstance(op, Update):
            rows.append(f"update {op.side} {op.record_id}: {sorted(op.fields.items())}")
        elif isinstance(op, LinkOnly):
            rows.append(f"link {op.link.left_id} {op.link.right_id} {op.base} {op.new}")
        elif isinstance(op, Tag):
            rows.append(f"tag {op.side} {op.record_id} {op.tag} {op.add}")
        elif isinstance(op, Skip | Conflict):
            rows.append(repr(op))
        else:
            rows.append(type(op).__name__)
    return Counter(rows)


RULES: list[dict[str, Any]] = [
    {},
    {"match": {"on_duplicate": "link_oldest"}},
    {"if": {"left": {"any": [{"field": "company", "op": "not_equals", "value": "Left out"},
                             {"field": "exists_on_other_side", "op": "equals", "value": True}]}}},
    {"then": {"right": [{"add_tag": "From left"}]}, "match": {"create_without_key": True}},
    {"direction": "left-to-right"},
]


def people(*rows: tuple[str | None, str | None]) -> list[dict[str, Any]]:
    return [{"email": email, "company": company, "name": None} for email, company in rows]


UNIQUE = [(f"u{i}@x.io", None) for i in range(5)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    left=st.lists(person, max_size=14),
    right=st.lists(person, max_size=6),
    stamped=st.lists(st.tuples(st.integers(min_value=0, max_value=13), st.booleans()), max_size=2),
    rules=st.sampled_from(RULES),
    latency=st.sampled_from([0.0, 1.0]),
)
# the cases that matter, whatever Hypothesis draws: a duplicate on a later page, a record its IF leaves out,
# a keyless record whose copy an earlier run made, the oldest of duplicates linked
@example(people(*UNIQUE, ("u0@X.io", None)), [], [], RULES[0], 1.0)
@example(people(*UNIQUE, ("u9@x.io", "Left out")), [], [], RULES[2], 1.0)
@example(people(*UNIQUE, (None, None)), [], [(5, False)], RULES[0], 1.0)
@example(people(*UNIQUE, ("u1@x.io", None)), people(("u4@x.io", None)), [], RULES[1], 0.0)
def test_a_streamed_run_ends_where_the_whole_plan_ends(
    tmp_path: Path, left: list[dict[str, Any]], right: list[dict[str, Any]], stamped: list[tuple[int, bool]],
    rules: dict[str, Any], latency: float,
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    streamed, planned = World(folder / "streamed", latency, rules), World(folder / "planned", latency, rules)
    for world in (streamed, planned):
        world.seed("left", left)
        world.seed("right", right)
        for index, with_email in stamped:  # a copy an earlier run made (its answer lost): it names its origin
            if index < len(left):
                copy = {**left[index], STAMP: f"mem_{index + 1}"}
                world.seed("right", [copy if with_email else {**copy, "email": None}])
    dry = streamed.dry_run().plan
    ours, theirs = streamed.run(), planned.run(stream=False)
    assert ours.status == theirs.status == "ok", (ours.error, theirs.error)
    assert shown(ours.plan) == shown(dry) == shown(theirs.plan)
    assert ours.summary() | {"run_id": None, "requests": None} == theirs.summary() | {"run_id": None, "requests": None}
    assert streamed.records() == planned.records()
    assert streamed.links() == planned.links()
    again = streamed.run()
    assert again.plan.counts()["created"] == {"left": 0, "right": 0}
    assert all(n == 1 for n in Counter(r.fields.get(STAMP) for r in streamed.stores["right"].live().values()
                                       if r.fields.get(STAMP)).values())


def test_unique_emails_are_all_created_early_and_duplicates_wait_for_the_whole_plan(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.seed("left", [{"email": f"p{i}@x.io"} for i in range(7)] + [{"email": "p0@X.io"}, {"email": "in@b.io"}])
    world.seed("right", [{"email": "in@b.io"}])
    report = world.run()
    assert report.streamed == {"left": 0, "right": 6}  # p1..p6; p0 twice (skipped), in@b.io matched
    assert report.plan.counts()["created"] == {"left": 0, "right": 6}
    assert report.plan.counts()["skipped"] == 2 and report.plan.counts()["linked"] == 1


@pytest.mark.parametrize(("email", "early"), [(None, True), ("unique", False)])
def test_records_without_a_match_key_are_created_before_the_source_is_read(
    tmp_path: Path, email: str | None, early: bool
) -> None:
    """Nothing on a later page can change the outcome of a record without an email (no duplicate to find), so its
    create goes out with the first full batch (of 100 here); a record with an email waits for the last page, which
    could hold another record with the same email."""
    world = World(tmp_path, latency_ms=2.0, extra={"match": {"create_without_key": True}})
    world.seed("left", [{"name": f"N{i}", **({"email": f"n{i}@x.io"} if email else {})} for i in range(250)])
    progress: list[tuple[str, int]] = []
    report = asyncio.run(run_connection(
        world.loaded, world.loaded.config.connection("c"), world.state, progress=lambda n: progress.append(("w", n)),
        phases=_Reads(progress),
    ))
    assert report.status == "ok" and report.summary()["created"]["right"] == 250
    first_write = progress.index(next(p for p in progress if p[0] == "w"))
    last_read = max(i for i, p in enumerate(progress) if p[0] == "left")
    assert (first_write < last_read) is early
    assert report.streamed["right"] == 250  # early or not, every create went out before the whole plan was made


class _Reads:
    """Progress phases that note each page of the left side as it is read."""

    def __init__(self, log: list[tuple[str, int]]) -> None:
        self.log = log

    def read(self, side: str, count: int) -> None:
        self.log.append((side, count))

    def planned(self, writes: dict[str, int]) -> None:
        pass

    def written(self, side: str, count: int) -> None:
        pass


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole plan"])
def test_ctrl_c_interrupts_the_run_even_when_a_read_swallows_its_cancellation(tmp_path: Path, stream: bool) -> None:
    """Ctrl-C cancels the run's task. A library deep inside a read may catch that cancellation and end the read
    with an error of its own instead (an HTTP client turning it into a timeout): the run must still end as
    interrupted, never as a failed read that a caller would take for the app's fault."""
    world = World(tmp_path)
    world.seed("right", people(("ann@x.io", "A")))
    connection = world.loaded.config.connection("c")

    async def reader(session: Any, side: str) -> SideRead:
        if side == "right":
            return SideRead(complete=True)  # read in full at once: the other side streams into it
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as some client stacks do
            await asyncio.sleep(30)
        raise RuntimeError("the read ended with an error of its own")

    async def interrupted() -> None:
        run = asyncio.create_task(run_connection(world.loaded, connection, world.state, reader=reader, stream=stream))
        await asyncio.sleep(0.2)
        run.cancel()
        await run

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(interrupted())
    assert [r["status"] for r in world.state.runs()] == ["interrupted"]
