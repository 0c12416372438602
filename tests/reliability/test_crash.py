"""A two-way run killed with SIGKILL at random moments and started again ends as if never interrupted.

Two identical pairs of sandboxes: the reference pair is synced by
uninterrupted `pairsync run`s, the crash pair by runs killed at random
moments (during reads, planning, writes and bookkeeping alike), then
finished. Both sides must hold the same records as the reference, with no
duplicate and every outside edit made between runs carried across.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

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

CI_RECORDS = int(os.environ.get("PAIRSYNC_CRASH_RECORDS", "300"))
KILLS = 20
SLOW_LATENCY = SideKnobs(latency_ms=2)  # every request takes a little time, so kills land mid-run


def make_pair(folder: Path, count: int) -> Pair:
    pair = Pair(folder, SLOW_LATENCY, SLOW_LATENCY, retry_wait_s=0.2, timeout_s=10).start()
    seed_two_way(pair, count)
    return pair


def edit_between_runs(pair: Pair, count: int) -> dict[str, str]:
    """Outside edits on both sides, found by email so both pairs get the same ones; returns email -> new value."""
    edits: dict[str, str] = {}
    stripe_ids = {r["email"]: r["id"] for r in pair.stripe.records()}
    google_ids = {r["email"]: r["id"] for r in pair.google.records()}
    for i in range(0, count // 3, max(1, count // 30)):
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


def kill_at_random(pair: Pair, config: Path, kills: int, longest: float, rng: random.Random) -> int:
    """Start runs and SIGKILL each at a random moment until `kills` runs died mid-way; returns the kills made."""
    made = 0
    for _ in range(kills * 4):
        process = start_run(pair, config)
        time.sleep(rng.uniform(0.05, longest))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            made += 1
        process.communicate(timeout=60)
        if made == kills:
            break
    return made


def uninterrupted(pair: Pair, config: Path) -> float:
    start = time.perf_counter()
    _code, summary, output = run_cli(pair, config)
    assert summary is not None and summary["status"] == "ok", output
    return time.perf_counter() - start


def crash_and_compare(tmp_path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    reference = make_pair(tmp_path / "reference", count)
    crashed = make_pair(tmp_path / "crashed", count)
    try:
        ref_config, crash_config = reference.write_config(), crashed.write_config()
        longest = uninterrupted(reference, ref_config)
        first = kill_at_random(crashed, crash_config, KILLS * 2 // 3, longest, rng)
        finish(crashed, crash_config)

        edits = edit_between_runs(reference, count)
        assert edit_between_runs(crashed, count) == edits
        uninterrupted(reference, ref_config)
        second = kill_at_random(crashed, crash_config, KILLS - first, longest / 2, rng)
        last = finish(crashed, crash_config)

        assert first + second >= KILLS, f"only {first + second} runs were killed mid-way"
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


def test_sigkilled_runs_end_as_an_uninterrupted_run(tmp_path: Path) -> None:
    crash_and_compare(tmp_path, CI_RECORDS, seed=8)


@pytest.mark.slow
def test_sigkilled_two_thousand_record_run(tmp_path: Path) -> None:
    crash_and_compare(tmp_path, 2000, seed=2000)


def test_restart_after_sigkill_is_not_refused_as_busy(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, 200)
    try:
        config = pair.write_config()
        process = start_run(pair, config)
        deadline = time.monotonic() + 30
        while not (tmp_path / ".pairsync" / "state.db").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.6)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        _code, summary, output = run_cli(pair, config)
        assert summary is not None and summary["status"] == "ok", output
    finally:
        pair.stop()
