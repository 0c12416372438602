"""The mass-change breaker: a side that comes back empty or truncated never causes mass tagging."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import Pair
from tests.reliability.helpers import seed_two_way

RECORDS = 60
TRASH = "pairsync Trash"


def tagged(pair: Pair) -> int:
    return sum(TRASH in r.get("tags", []) for r in pair.stripe.records())


@pytest.mark.parametrize(
    ("share_gone", "full", "blocked"),
    [
        pytest.param(1.0, True, True, id="google-empty-full-read"),
        pytest.param(1.0, False, True, id="google-empty-incremental"),
        pytest.param(0.6, True, True, id="google-truncated-full-read"),
        pytest.param(0.6, False, True, id="google-truncated-incremental"),
        pytest.param(0.05, False, False, id="a-few-deletions-go-through"),
        pytest.param(0.05, True, False, id="a-few-deletions-in-a-full-read-go-through"),
    ],
)
def test_a_vanishing_side_is_stopped_before_tagging(
    tmp_path: Path, share_gone: float, full: bool, blocked: bool
) -> None:
    with Pair(tmp_path) as pair:
        seed_two_way(pair, RECORDS)
        loaded = pair.load()
        store = pair.store(loaded)
        assert pair.run(loaded, store).status == "ok"
        contacts = pair.google.records()
        gone = contacts[: round(len(contacts) * share_gone)]
        for contact in gone:
            pair.google.delete_record(contact["id"])
        report = pair.run(loaded, store, full=full)
        if blocked:
            assert tagged(pair) == 0, report.summary()
            assert report.status == "blocked" and report.plan.blocked, report.summary()
            assert pair.run(loaded, store, full=full).status == "blocked", "the breaker holds on the next run"
        else:
            assert report.status == "ok", report.summary()
            assert tagged(pair) == len(gone)


def test_force_lets_an_intended_mass_deletion_through(tmp_path: Path) -> None:
    with Pair(tmp_path) as pair:
        seed_two_way(pair, 20)
        loaded = pair.load()
        store = pair.store(loaded)
        pair.run(loaded, store)
        for contact in pair.google.records():
            pair.google.delete_record(contact["id"])
        assert pair.run(loaded, store).status == "blocked"
        assert pair.run(loaded, store, force=True).status == "ok"
        assert tagged(pair) == 20
