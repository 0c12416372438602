"""`pairsync serve` logs: pairsync's own lines only (one per run), as JSON when asked (issue 18.12)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from engine.config import load_config
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore
from tests.service.conftest import memory_account, wait_for, write_config


def _finished_runs(config: Path) -> int:
    store = StateStore(load_config(config).state_url)
    try:
        return sum(1 for run in store.runs("people", limit=100) if run["status"] != "running")
    finally:
        store.close()


def test_serve_logs_one_json_line_per_run_and_nothing_from_libraries(tmp_path: Path, processes) -> None:
    MemoryStore(tmp_path / "crm.json").add({"email": "ada@example.com", "name": "Ada"})
    tag = uuid.uuid4().hex[:6]
    config = write_config(
        tmp_path / "pairsync.yaml",
        {
            "crm": memory_account(f"crm-{tag}", tmp_path / "crm.json"),
            "book": memory_account(f"book-{tag}", tmp_path / "book.json"),
        },
        [{"name": "people", "left": "crm", "right": "book", "schedule": "1s"}],
    )
    service = processes(config, {"PAIRSYNC_CONFIG_WATCH": "0.2"}, ("--log-format", "json"))
    wait_for(lambda: _finished_runs(config) >= 3, timeout=60)
    service.terminate(timeout=30)
    lines = [json.loads(line) for line in service.log.read_text().splitlines() if line.strip()]
    assert {line["logger"] for line in lines} <= {"pairsync.service"}, lines
    runs = [line for line in lines if line["message"].startswith("run #")]
    assert len(runs) >= 3
    assert runs[0]["connection"] == "people" and runs[0]["status"] == "ok"
    assert runs[0]["counts"]["created"] == {"left": 0, "right": 1}
    assert len(lines) <= len(runs) + 4  # a start line, no config-watch or per-request noise
