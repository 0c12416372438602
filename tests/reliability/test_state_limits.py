"""The state store takes a whole initial sync's worth of write intents at once (the 100,000-record B1 found this)."""

from __future__ import annotations

from pathlib import Path

from engine.state.store import StateStore

INTENTS = 40_000  # x 8 columns = 320,000 bound parameters, above SQLite's variable limit (250,000 here)


def test_a_plan_of_forty_thousand_writes_can_be_journaled(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    run_id = store.start_run("big")
    store.journal("big", run_id, [(f"big:{i}", "right", "create", f"cus_{i}") for i in range(INTENTS)])
    assert len(store.pending("big")) == INTENTS
