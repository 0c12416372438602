"""A two-way run killed with SIGKILL mid-way and started again ends as if never interrupted.

Two identical pairs of sandboxes: the reference pair is synced by
uninterrupted `pairsync run`s, the crash pair by runs killed by a tripwire in
its sandboxes (tests/reliability/tripwire.py), then finished. Each killed
run is killed at a chosen request: a read while nothing is written yet, a
write before the app acts on it, or a write the app acted on whose answer
never comes back. A kill counts as landing during writes only when the
run's writes had started and the journal holds intents the run never
finished; the suite requires a minimum of kills of each kind, and prints how
many landed where. Both sides must then hold the same records as the
reference, with no duplicate and every outside edit made between runs
carried across.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.harness import Pair, SideKnobs
from tests.reliability.helpers import (
    duplicates,
    google_state,
    run_cli,
    seed_two_way,
    start_run,
    stripe_state,
)
from tests.reliability.tripwire import Kill, Tripwire, pending_intents, wire_pair

CI_RECORDS = int(os.environ.get("PAIRSYNC_CRASH_RECORDS", "300"))
TRIGGERS = ("read", "write-before", "write-after")
ROUNDS = {"first sync": 4, "after outside edits": 3}  # each round kills one run per trigger
FEWER_ROUNDS = {"first sync": 2, "after outside edits": 1}  # the 2,000-record variant: each run costs more
SLOW_LATENCY = SideKnobs(latency_ms=2)  # requests overlap, so other writes are in flight at each kill


def make_pair(folder: Path, count: int, wire: Tripwire | None = None) -> Pair:
    pair = Pair(folder, SLOW_LATENCY, SLOW_LATENCY, retry_wait_s=0.2, timeout_s=10)
    pair = wire_pair(pair, wire) if wire is not None else pair.start()
    seed_two_way(pair, count)
    return pair


def edit_between_runs(pair: Pair, count: int) -> dict[str, str]:
    """Outside edits on both sides, found by email so both pairs get the same ones; returns email -> new value.

    Enough of them (a fifth of the people on each side: under the breaker) that every killed run of the
    second phase has writes left to do.
    """
    edits: dict[str, str] = {}
    stripe_ids = {r["email"]: r["id"] for r in pair.stripe.records()}
    google_ids = {r["email"]: r["id"] for r in pair.google.records()}
    for i in range(count // 5):
        email = f"s{i}@example.com"
        edits[email] = f"+1555900{i:04d}"
        pair.stripe.update_record(stripe_ids[email], {"phone": edits[email]})
        email = f"g{i}@example.com"
        edits[email] = f"Edited{i}"
        pair.google.update_record(google_ids[email], {"givenName": edits[email]})
    return edits


def finish(pair: Pair, config: Path) -> dict[str, object]:
    """Runs until one completes cleanly; returns the summary of a last run, which must find nothing to do."""
    for _ in range(3):
        code, summary, output = run_cli(pair, config)
        if code == 0:
            break
    else:
        pytest.fail(f"the sync never completed after the crashes: {output}")
    code, summary, output = run_cli(pair, config)
    assert code == 0 and summary is not None and summary["status"] == "ok", output
    return summary


@dataclass
class Phase:
    """The kills of one phase of the suite and the writes each following run made."""

    name: str
    kills: list[Kill] = field(default_factory=list)
    writes_after: list[int] = field(default_factory=list)  # writes made by the run after each kill

    def counted(self, trigger: str) -> int:
        """Kills of this trigger that landed where they claim: mid-writes, or mid-reads with writes to come."""
        found = 0
        for kill, later in zip(self.kills, self.writes_after, strict=True):
            if kill.trigger == trigger and (kill.during_writes if kill.on_write else kill.during_reads and later):
                found += 1
        return found


def kill_runs(pair: Pair, wire: Tripwire, config: Path, phase: Phase, rounds: int, rng: random.Random) -> None:
    """Start runs and let the tripwire kill each at its armed request; the runs must all die mid-way."""
    for trigger in [t for _ in range(rounds) for t in TRIGGERS]:
        wire.arm(trigger, rng.randint(1, 3) if trigger == "read" else rng.randint(1, 6))
        process = start_run(pair, config)
        wire.attach(process)
        out, err = process.communicate(timeout=300)
        assert wire.fired is not None, f"a {trigger} run finished before its kill:\n{out}{err}"
        if phase.kills:
            phase.writes_after.append(wire.writes)
        wire.fired.pending = pending_intents(pair.folder)
        phase.kills.append(wire.fired)


def finish_counting(pair: Pair, wire: Tripwire, config: Path, phase: Phase) -> dict[str, Any]:
    wire.arm(None, 0)
    code, summary, output = run_cli(pair, config)
    phase.writes_after.append(wire.writes)
    assert code == 0 and summary is not None and summary["status"] == "ok", output
    return finish(pair, config)


def uninterrupted(pair: Pair, config: Path) -> None:
    _code, summary, output = run_cli(pair, config)
    assert summary is not None and summary["status"] == "ok", output


def crash_and_compare(
    tmp_path: Path, count: int, seed: int, request: pytest.FixtureRequest, rounds: dict[str, int] = ROUNDS
) -> None:
    rng = random.Random(seed)
    wire = Tripwire()
    reference = make_pair(tmp_path / "reference", count)
    crashed = make_pair(tmp_path / "crashed", count, wire)
    phases = [Phase(name) for name in rounds]
    try:
        ref_config, crash_config = reference.write_config(), crashed.write_config()
        uninterrupted(reference, ref_config)
        kill_runs(crashed, wire, crash_config, phases[0], rounds[phases[0].name], rng)
        finish_counting(crashed, wire, crash_config, phases[0])

        edits = edit_between_runs(reference, count)
        assert edit_between_runs(crashed, count) == edits
        uninterrupted(reference, ref_config)
        kill_runs(crashed, wire, crash_config, phases[1], rounds[phases[1].name], rng)
        last = finish_counting(crashed, wire, crash_config, phases[1])

        report_kills(phases, request)
        for phase in phases:
            for trigger in TRIGGERS:
                assert phase.counted(trigger) >= rounds[phase.name], (phase.name, trigger, phase.kills)
        assert last["created"] == {"left": 0, "right": 0} and last["updated"] == {"left": 0, "right": 0}
        stripe_side, google_side = stripe_state(crashed), google_state(crashed)
        assert duplicates(stripe_side) == {} and duplicates(google_side) == {}
        assert len(stripe_side) == len(google_side) == count
        assert stripe_side == stripe_state(reference)
        assert google_side == google_state(reference)
        for side in (stripe_side, google_side):
            rows = {row[0]: " ".join(str(v) for v in row) for row in side}
            lost = {email: rows[email] for email, value in edits.items() if value not in rows[email]}
            assert lost == {}, f"edits lost: {lost}"
    finally:
        reference.stop()
        crashed.stop()


def report_kills(phases: list[Phase], request: pytest.FixtureRequest) -> None:
    """Print where the kills landed (shown with -s or on failure) and keep the counts with the test's report."""
    for phase in phases:
        counts = Counter(kill.trigger for kill in phase.kills)
        during = sum(kill.during_writes for kill in phase.kills)
        line = (
            f"crash suite, {phase.name}: {len(phase.kills)} kills, {during} during writes "
            f"(write-before {phase.counted('write-before')}/{counts['write-before']}, "
            f"write-after {phase.counted('write-after')}/{counts['write-after']}), "
            f"{phase.counted('read')}/{counts['read']} during reads with writes still to do"
        )
        print(line)
        request.node.user_properties.append((f"kills during writes, {phase.name}", during))


def test_sigkilled_runs_end_as_an_uninterrupted_run(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    crash_and_compare(tmp_path, CI_RECORDS, seed=8, request=request)


@pytest.mark.slow
def test_sigkilled_two_thousand_record_run(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    crash_and_compare(tmp_path, 2000, seed=2000, request=request, rounds=FEWER_ROUNDS)


def test_restart_after_sigkill_is_not_refused_as_busy(tmp_path: Path) -> None:
    """The killed run held the connection's lock mid-write; the next run takes it over instead of refusing."""
    wire = Tripwire()
    pair = make_pair(tmp_path, 200, wire)
    try:
        config = pair.write_config()
        wire.arm("write-before", 1)
        process = start_run(pair, config)
        wire.attach(process)
        process.communicate(timeout=300)
        assert wire.fired is not None and process.returncode == -9, "the run was killed at its first write"
        assert pending_intents(tmp_path) > 0, "the killed run left its write intents pending"
        wire.arm(None, 0)
        _code, summary, output = run_cli(pair, config)
        assert summary is not None and summary["status"] == "ok", output
    finally:
        pair.stop()
