"""Live progress: the runner reports the plan and each batch written, and `Live` turns that into done / planned."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.config import load_config
from engine.planner.model import Plan
from engine.runner import run_connection
from engine.service.runs import Live
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore
from tests.web.conftest import write_config


def test_the_runner_reports_the_plan_then_every_write(tmp_path: Path) -> None:
    left, right = MemoryStore.named(f"pl-{tmp_path.name}"), MemoryStore.named(f"pr-{tmp_path.name}")
    for n in range(7):
        left.add({"email": f"p{n}@example.com", "name": f"P {n}"})
    right.add({"email": "solo@example.com", "name": "Solo"})
    loaded = load_config(write_config(tmp_path, f"pl-{tmp_path.name}", f"pr-{tmp_path.name}"))
    store = StateStore(loaded.state_url)
    plans: list[Plan] = []
    written: list[int] = []
    live = Live("test")
    try:
        report = asyncio.run(
            run_connection(
                loaded, loaded.config.connections[0], store,
                progress=lambda n: (written.append(n), live.advance(n)),
                on_plan=lambda plan: (plans.append(plan), live.planned(plan)),
            )
        )
    finally:
        store.close()
        MemoryStore.forget(f"pl-{tmp_path.name}")
        MemoryStore.forget(f"pr-{tmp_path.name}")
    assert report.status == "ok" and len(plans) == 1
    assert plans[0].writes() == sum(written) == 8  # 7 creates on the right, 1 on the left
    assert (live.phase, live.done, live.total) == ("writing", 8, 8)


def test_live_never_counts_past_the_plan() -> None:
    live = Live("test")
    assert live.phase == "reading"
    live.planned(Plan("c"))
    live.advance(5)
    assert (live.done, live.total) == (5, 0)  # nothing planned: a count, not a share
