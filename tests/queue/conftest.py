"""Harness for the scale-out tests: real `pairsync worker` and `pairsync serve --workers 0` processes over one
PostgreSQL state, and a queue client in the test process that asks for runs as the service would."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from engine.queue.app import make_app
from engine.queue.jobs import Queue, QueuedJobs
from engine.queue.schema import apply_queue_schema
from engine.queue.settings import QueueSettings
from engine.state.store import StateStore
from tests.service.conftest import LISTENING, wait_for

PAIRSYNC = str(Path(sys.executable).parent / "pairsync")
QUICK = {
    "PAIRSYNC_QUEUE_TICK": "1",
    "PAIRSYNC_QUEUE_HEARTBEAT": "0.5",
    "PAIRSYNC_QUEUE_STALLED_AFTER": "3",
    "PAIRSYNC_QUEUE_BUSY_RETRY": "0.5",
    "PAIRSYNC_QUEUE_GRACE": "5",
}


def write_config(path: Path, state: str, accounts: dict[str, Any], connections: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"state": state, "accounts": accounts, "connections": connections}))
    return path


def memory_file_account(folder: Path, name: str, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A memory account saved in its own JSON file, so that every process sees the same data."""
    path = folder / f"{name}.json"
    if records is not None:
        stored = {
            str(i + 1): {
                "fields": r,
                "tags": [],
                "deleted": False,
                "unsubscribed": False,
                "seq": i + 1,
                "updated": None,
            }
            for i, r in enumerate(records)
        }
        path.write_text(json.dumps({"seq": len(records), "idempotency": {}, "records": stored}))
    return {"connector": "memory", "settings": {"store": name, "file": str(path)}}


class Process:
    """A pairsync command as a child process, its output in a log file beside the config."""

    def __init__(self, args: list[str], config: Path, env: dict[str, str], label: str) -> None:
        self.log = config.parent / f"{label}.log"
        self.process = subprocess.Popen(
            [PAIRSYNC, *args],
            env={**os.environ, **QUICK, **env},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Cluster:
    """Workers and queued services of one test, and a queue client that asks for runs."""

    def __init__(self, config: Path, state_url: str, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.env = env or {}
        self.store = StateStore(state_url)
        apply_queue_schema(self.store.engine)
        self.state_url = state_url
        self.processes: list[Process] = []
        self.loop = asyncio.new_event_loop()
        self.app = make_app(state_url)
        self.loop.run_until_complete(self.app.open_async())
        self.queue = Queue(self.app, self.store, QueueSettings.from_env(QUICK))

    def worker(self, concurrency: int = 1) -> Process:
        label = f"worker-{len(self.processes)}"
        process = Process(["worker", str(self.config), "--concurrency", str(concurrency)], self.config, self.env, label)
        self.processes.append(process)
        return process

    def service(self) -> tuple[Process, httpx.Client]:
        label = f"serve-{len(self.processes)}"
        process = Process(["serve", str(self.config), "--workers", "0", "--port", "0"], self.config, self.env, label)
        self.processes.append(process)

        def listening() -> str | None:
            if process.process.poll() is not None:
                pytest.fail(f"serve exited early:\n{process.output()}")
            found = LISTENING.search(process.output())
            return found.group(1) if found else None

        port = wait_for(listening, timeout=60, every=0.2)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        wait_for(lambda: client.get("/healthz").status_code == 200, timeout=60, every=0.2)
        return process, client

    def ask(self, connection: str, trigger: str = "api") -> None:
        self.loop.run_until_complete(self.queue.ask(connection, trigger))

    def jobs(self) -> dict[str, QueuedJobs]:
        return self.loop.run_until_complete(self.queue.overview())

    def finished_runs(self, connection: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.store.runs(connection, limit=10_000) if r["status"] not in {"running", "busy"}]

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self.loop.run_until_complete(self.app.close_async())
        self.loop.close()
        self.store.close()


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(accounts: dict[str, Any], connections: list[dict[str, Any]], env: dict[str, str] | None = None) -> Cluster:
        config = write_config(tmp_path / "pairsync.yaml", postgres_url, accounts, connections)
        made.append(Cluster(config, postgres_url, env))
        return made[-1]

    yield make
    for each in made:
        each.close()


def patiently(check: Callable[[], Any], timeout: float = 120.0) -> Any:
    """Real processes on a shared machine: wait generously, but for a positive condition only."""
    return wait_for(check, timeout=timeout, every=0.2)
