"""The benchmark's bounds: the physical one lets phases overlap; the engine model adds them up."""

from __future__ import annotations

import pytest

from bench.__main__ import missed_deterministic
from bench.bound import Phase, engine_model_bound, physical_bound

STRIPE_READ = Phase(requests=104, chain=2, latency_s=0.08, rate_per_second=25)  # 10,000 customers, split listing
GOOGLE_READ = Phase(requests=2, chain=2, latency_s=0.1, rate_per_second=1.5)
GOOGLE_WRITE = Phase(requests=50, chain=1, latency_s=0.1, rate_per_second=1.5)


@pytest.mark.parametrize(
    ("source", "target_read", "target_write", "expected", "why"),
    [
        (STRIPE_READ, GOOGLE_READ, GOOGLE_WRITE, 2 / 1.5 + 50 / 1.5, "Google's write quota dominates, after its read"),
        (
            Phase(1000, 2, 0.08, 25),
            Phase(1, 1, 0.1, 0),
            Phase(5, 1, 0.1, 0),
            1000 / 25 + 0.1,
            "a slow source: the last write follows the last read",
        ),
        (Phase(1, 1, 0.5, 0), Phase(1, 1, 0.1, 0), Phase(3, 3, 0.1, 0), 0.5 + 0.3, "writes wait for the first page"),
    ],
)
def test_physical_bound(source: Phase, target_read: Phase, target_write: Phase, expected: float, why: str) -> None:
    assert physical_bound(source, target_read, target_write) == pytest.approx(expected), why


def test_the_engine_model_adds_the_slowest_read_to_the_slowest_write() -> None:
    sequential = Phase(104, 101, 0.08, 25)
    assert engine_model_bound([sequential, GOOGLE_READ], [GOOGLE_WRITE]) == pytest.approx(101 * 0.08 + 50 / 1.5)
    assert physical_bound(STRIPE_READ, GOOGLE_READ, GOOGLE_WRITE) < engine_model_bound(
        [sequential, GOOGLE_READ], [GOOGLE_WRITE]
    )


def test_the_smoke_run_fails_only_on_missed_deterministic_figures() -> None:
    results = [
        {"id": "B1", "met": False},  # a timing: informational
        {"id": "B2", "met": True, "deterministic": True},
        {"id": "B2", "met": False, "deterministic": True, "name": "incremental", "size": 300},
    ]
    assert missed_deterministic(results) == [results[2]]
