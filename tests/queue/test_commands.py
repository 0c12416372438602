"""The queue's commands refuse what they cannot do, and its schema installs once however many start at once."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.queue.schema import apply_queue_schema
from engine.state.store import StateStore
from tests.queue.conftest import PAIRSYNC, memory_file_account, write_config

ONE = {"name": "c", "left": "a", "right": "b"}


@pytest.mark.parametrize("command", [["worker"], ["serve", "--workers", "0"]])
def test_the_queue_refuses_sqlite_state_with_a_clear_message(tmp_path: Path, command: list[str]) -> None:
    accounts = {"a": memory_file_account(tmp_path, "a"), "b": memory_file_account(tmp_path, "b")}
    config = write_config(
        tmp_path / "pairsync.yaml",
        f"sqlite:///{tmp_path / 'state.db'}",
        accounts,
        [{"name": "c", "left": "a", "right": "b"}],
    )
    done = subprocess.run([PAIRSYNC, command[0], str(config), *command[1:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "the queue needs PostgreSQL state" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.postgres
def test_the_queue_schema_installs_once_when_processes_start_together(postgres_url: str) -> None:
    stores = [StateStore(postgres_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            said = sorted(pool.map(lambda store: apply_queue_schema(store.engine), stores))
        assert [s.split(" (")[0] for s in said] == [
            "queue schema installed",
            "queue schema up to date",
            "queue schema up to date",
        ]
    finally:
        for store in stores:
            store.close()


@pytest.mark.postgres
def test_pairsync_migrate_brings_both_schemas_up_in_one_step(postgres_url: str, tmp_path: Path) -> None:
    accounts = {"a": memory_file_account(tmp_path, "a"), "b": memory_file_account(tmp_path, "b")}
    config = write_config(
        tmp_path / "pairsync.yaml", postgres_url, accounts, [{"name": "c", "left": "a", "right": "b"}]
    )
    first = subprocess.run([PAIRSYNC, "migrate", str(config)], capture_output=True, text=True, timeout=120)
    again = subprocess.run([PAIRSYNC, "migrate", str(config)], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and "queue schema installed" in first.stdout
    assert again.returncode == 0 and "queue schema up to date" in again.stdout
