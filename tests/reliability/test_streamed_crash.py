"""A run killed while it creates records and still reads its source, started again, creates none of them twice.

Stripe customers without an email are created in Google while Stripe's pages
still come in (engine/streaming.py): nothing on a later page can change their
outcome. The tripwire (tests/reliability/tripwire.py) SIGKILLs such a run at
its first Google write: once after Google acted on it (its answer lost), once
before. Each kill must land before the run's reads were done, and the runs
that finish the sync must leave every customer in Google exactly once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.harness import Pair, SideKnobs
from tests.reliability.helpers import run_cli, start_run
from tests.reliability.tripwire import Kill, Tripwire, pending_intents, wire_pair

CUSTOMERS = 600  # six Stripe pages; Google takes 200 per batch, so the first batch goes out mid-listing
SLOW_STRIPE = SideKnobs(latency_ms=40)
FAST_GOOGLE = SideKnobs(latency_ms=2)


def test_a_run_killed_mid_stream_creates_nothing_twice(tmp_path: Path) -> None:
    wire = Tripwire()
    pair = wire_pair(Pair(tmp_path, SLOW_STRIPE, FAST_GOOGLE, retry_wait_s=0.2, timeout_s=10), wire)
    try:
        for i in range(CUSTOMERS):
            pair.stripe.add_record({"name": f"Keyless Person{i}"})
        config = pair.write_config()
        kills: list[Kill] = []
        for trigger in ("write-after", "write-before"):
            wire.arm(trigger, 1)
            process = start_run(pair, config)
            wire.attach(process)
            process.communicate(timeout=300)
            assert wire.fired is not None and wire.fired.on_write, trigger
            wire.fired.pending = pending_intents(pair.folder)
            kills.append(wire.fired)
        wire.arm(None, 0)
        code, summary, output = run_cli(pair, config)
        assert code == 0 and summary is not None and summary["status"] == "ok", output
        complete_reads = wire.reads
        code, summary, output = run_cli(pair, config)
        assert code == 0 and summary is not None and summary["created"] == {"left": 0, "right": 0}, output

        assert all(kill.reads < complete_reads and kill.pending for kill in kills), (kills, complete_reads)
        origins = Counter(r.get("clientData.pairsync_origin") for r in pair.google.records())
        assert len(origins) == CUSTOMERS and set(origins.values()) == {1}
        assert Counter(r.get("givenName") for r in pair.google.records())["Keyless"] == CUSTOMERS
    finally:
        pair.stop()
