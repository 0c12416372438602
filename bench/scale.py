"""B5: scale-out on the queue. Runs per minute with 1, 2 and 4 worker processes, schedule lag, the queue alone.

Each connection pairs two memory accounts kept in JSON files, with a simulated
request latency (`latency_ms` on the memory connector), so runs are I/O-bound
as with real apps while the measurement stays on what scale-out changes: the
queue, the workers and the shared PostgreSQL state. Needs the PostgreSQL of
`PAIRSYNC_TEST_POSTGRES` (default 127.0.0.1:5432, database test).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from procrastinate import App
from sqlalchemy import create_engine, text

from engine.queue.app import make_app
from engine.queue.jobs import Queue
from engine.queue.schema import apply_queue_schema
from engine.queue.settings import QueueSettings
from engine.state.database import normalise_url
from engine.state.store import StateStore
from engine.state.tables import utcnow

POSTGRES = os.environ.get("PAIRSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PAIRSYNC = str(Path(sys.executable).parent / "pairsync")
QUICK = {"PAIRSYNC_QUEUE_TICK": "1", "PAIRSYNC_QUEUE_HEARTBEAT": "2", "PAIRSYNC_QUEUE_STALLED_AFTER": "30"}
Result = dict[str, Any]


def b5(
    folder: Path,
    connections: int = 200,
    records: int = 50,
    latency_ms: float = 100,
    workers: tuple[int, ...] = (1, 2, 4),
    concurrency: int = 4,
    lag_connections: int = 1000,
) -> list[Result]:
    results: list[Result] = []
    rates: dict[int, float] = {}
    for count in workers:
        with fresh_schema() as url:
            config = _config(folder / f"w{count}", url, connections, records, latency_ms)
            rate, cpu = _throughput(config, url, count, concurrency, connections)
        rates[count] = rate
        results.append(
            {
                "id": "B5",
                "name": f"runs per minute, {count} worker(s) x {concurrency} concurrent",
                "size": f"{connections}x{records}",
                "runs_per_minute": round(rate, 1),
                "ratio_to_1_worker": round(rate / rates[workers[0]], 2),
                "cpu_ms_per_run": round(cpu * 1000, 1),
                "target": ">= 3.5x at 4 workers" if count == 4 else "",
                "met": rate / rates[workers[0]] >= 3.5 if count == 4 else None,
            }
        )
    with fresh_schema() as url:
        config = _config(folder / "lag", url, lag_connections, 5, latency_ms, schedule="1h")
        p50, p99 = _schedule_lag(config, url, max(workers), concurrency, lag_connections)
    results.append(
        {
            "id": "B5",
            "name": f"schedule lag, {lag_connections} connections due at once, {max(workers)} workers",
            "size": lag_connections,
            "lag_p50_s": round(p50, 2),
            "lag_p99_s": round(p99, 2),
            "target": "p99 < 10 s",
            "met": p99 < 10,
        }
    )
    with fresh_schema() as url:
        results.append(_queue_alone(url))
    return results


# throughput -------------------------------------------------------------------


def _throughput(config: Path, url: str, workers: int, concurrency: int, connections: int) -> tuple[float, float]:
    store = StateStore(url)
    apply_queue_schema(store.engine)
    with _workers(config, workers, concurrency) as pids:
        _wait(lambda: _registered(store) >= workers)
        cpu_before = sum(_cpu(pid) for pid in pids)
        began = time.monotonic()
        asyncio.run(_ask_all(url, store, [f"c{i}" for i in range(connections)]))
        _wait(lambda: _finished(store) >= connections, timeout=1800)
        seconds = time.monotonic() - began
        cpu = sum(_cpu(pid) for pid in pids) - cpu_before
    store.close()
    return connections / seconds * 60, cpu / connections


async def _ask_all(url: str, store: StateStore, names: list[str]) -> None:
    app = make_app(url)
    async with app.open_async():
        queue = Queue(app, store, QueueSettings())
        for name in names:
            await queue.ask(name, "bench")


# schedule lag -----------------------------------------------------------------


def _schedule_lag(config: Path, url: str, workers: int, concurrency: int, connections: int) -> tuple[float, float]:
    store = StateStore(url)
    apply_queue_schema(store.engine)
    due = utcnow() + timedelta(seconds=15)  # every connection falls due at this one moment
    store.sync_schedules({f"c{i}": "1h" for i in range(connections)}, lambda schedule, after: due)
    with _workers(config, workers, concurrency):
        _wait(lambda: _finished(store) >= connections, timeout=3600)
    lags = sorted((run["started_at"] - due).total_seconds() for run in store.runs(limit=connections * 2))
    store.close()
    return statistics.median(lags), lags[min(len(lags) - 1, int(len(lags) * 0.99))]


# the queue alone --------------------------------------------------------------


def _queue_alone(url: str, jobs: int = 3000) -> Result:
    """Procrastinate over this PostgreSQL with a task that does nothing: the ceiling of the queue itself."""

    async def measure() -> tuple[float, float]:
        app: App = make_app(url, pool_size=8)
        done = 0

        @app.task(name="bench.noop", queue="bench")
        async def noop(n: int) -> None:
            nonlocal done
            done += 1

        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            began = time.monotonic()
            await noop.batch_defer_async(*({"n": i} for i in range(jobs)))
            deferred = time.monotonic() - began
            began = time.monotonic()
            await app.run_worker_async(queues=["bench"], concurrency=8, wait=False, install_signal_handlers=False)
            ran = time.monotonic() - began
        assert done == jobs
        return jobs / deferred, jobs / ran

    defer_rate, run_rate = asyncio.run(measure())
    return {
        "id": "B5",
        "name": "the queue alone (no-op jobs, one worker process, 8 concurrent)",
        "size": jobs,
        "defers_per_s": round(defer_rate),
        "jobs_per_s": round(run_rate),
        "target": "",
        "met": None,
    }


# helpers ----------------------------------------------------------------------


def _config(folder: Path, url: str, count: int, records: int, latency_ms: float, schedule: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    accounts: dict[str, Any] = {}
    connections = []
    for i in range(count):
        source = folder / f"src{i}.json"
        stored = {
            str(n + 1): {"fields": {"email": f"p{n}@c{i}.example", "name": f"Person {n}"}, "tags": [], "seq": n + 1}
            | {"deleted": False, "unsubscribed": False, "updated": None}
            for n in range(records)
        }
        source.write_text(json.dumps({"seq": records, "idempotency": {}, "records": stored}))
        for role, path in (("src", source), ("dst", folder / f"dst{i}.json")):
            settings = {"store": f"{role}{i}", "file": str(path), "latency_ms": latency_ms}
            accounts[f"{role}{i}"] = {"connector": "memory", "settings": settings}
        connection = {"name": f"c{i}", "left": f"src{i}", "right": f"dst{i}", "direction": "left-to-right"}
        connections.append({**connection, **({"schedule": schedule} if schedule else {})})
    path = folder / "pairsync.yaml"
    path.write_text(yaml.safe_dump({"state": url, "accounts": accounts, "connections": connections}))
    return path


@contextmanager
def fresh_schema() -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES))
    with admin.begin() as connection:
        connection.execute(text(f"create schema {name}"))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"drop schema {name} cascade"))
        admin.dispose()


@contextmanager
def _workers(config: Path, count: int, concurrency: int) -> Iterator[list[int]]:
    env = {**os.environ, **QUICK}
    log = (config.parent / "workers.log").open("w")
    processes = [
        subprocess.Popen(
            [PAIRSYNC, "worker", str(config), "--concurrency", str(concurrency)], env=env, stdout=log, stderr=log
        )
        for _ in range(count)
    ]
    try:
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        log.close()


def _registered(store: StateStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(text("select count(*) from procrastinate_workers")).scalar_one())


def _finished(store: StateStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(text("select count(*) from runs where status = 'ok'")).scalar_one())


def _cpu(pid: int) -> float:
    """User plus system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"B5: not done within {timeout:.0f} s")
        time.sleep(0.2)
