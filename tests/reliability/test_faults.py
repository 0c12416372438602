"""API faults injected by the sandboxes at set rates: every run ends complete or with each failure reported.

The sandboxes answer a share of requests with 429 (Retry-After), 500, 502,
503, stall past the client's timeout, or act on a request and then lose
its answer: the connection dropped halfway (reset) or a 200 whose JSON is
cut short (malformed) - a write that landed without the client knowing.
Runs repeat until one completes;
each run that did not must name every record it failed in the retry list,
and once the faults stop the two sides hold every person exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import CONNECTION, Pair
from engine.planner.model import SIDES
from tests.reliability.helpers import duplicates, google_state, seed_two_way, stripe_state

RECORDS = 160
MAX_RUNS = 12
FAULTS = [
    pytest.param({"429": 0.1}, id="429-retry-after"),
    pytest.param({"500": 0.06, "502": 0.06, "503": 0.06}, id="5xx"),
    pytest.param({"timeout": 0.03}, id="timeouts"),
    pytest.param({"reset": 0.08}, id="resets"),
    pytest.param({"malformed": 0.08}, id="malformed-json"),
    pytest.param(
        {"429": 0.04, "500": 0.04, "502": 0.04, "503": 0.04, "timeout": 0.02, "reset": 0.04, "malformed": 0.04},
        id="everything",
    ),
]


@pytest.mark.parametrize("faults", FAULTS)
def test_faulty_apis_lose_nothing(tmp_path: Path, faults: dict[str, float]) -> None:
    with Pair(tmp_path, retry_wait_s=0.05, timeout_s=0.5) as pair:
        seed_two_way(pair, RECORDS)
        for server in pair.servers.values():
            server.knobs.faults, server.knobs.timeout_s = dict(faults), 1.5
        loaded = pair.load()
        store = pair.store(loaded)
        statuses = []
        for _ in range(MAX_RUNS):
            report = pair.run(loaded, store)
            statuses.append(report.status)
            assert report.status in ("ok", "failed", "error"), report.summary()
            if report.status == "error":
                assert report.error, "a run that stopped must say why"
                continue
            assert report.outcome is not None
            for side in SIDES:
                assert set(report.outcome.failures[side]) == set(store.retries(CONNECTION, side))
            if report.status == "ok":
                break
        assert statuses[-1] == "ok", f"never completed under faults: {statuses}"
        rejected = sum(server.knobs.rejected for server in pair.servers.values())
        stalls = sum(server.knobs.stalls for server in pair.servers.values())
        assert stalls > 0 or "timeout" not in faults, "no request was stalled past the client's timeout"
        assert rejected > 0 or set(faults) == {"timeout"}, "no fault was injected"
        for server in pair.servers.values():
            server.knobs.faults = {}
        final = pair.run(loaded, store).summary()
        assert final["status"] == "ok" and final["created"] == {"left": 0, "right": 0}, final
        stripe_side, google_side = stripe_state(pair), google_state(pair)
        assert duplicates(stripe_side) == {} and duplicates(google_side) == {}
        assert {r[0] for r in stripe_side} == {r[0] for r in google_side}
        assert len(stripe_side) == RECORDS
