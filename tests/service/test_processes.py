"""`pairsync serve` as real processes: SIGTERM in the middle of a run, two services sharing PostgreSQL state."""

from __future__ import annotations

import asyncio
import itertools
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.stripe.sandbox import StripeSandbox
from engine.config import load_config
from engine.runner import run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore
from tests.reliability.tripwire import Gate, Wired
from tests.service.conftest import memory_account, wait_for, write_config

RECORDS = 12


def slow_stripe_config(tmp_path: Path, server: SandboxServer, name: str, state: str | None = None) -> Path:
    """Memory (a JSON file, so the child process sees it) into a Stripe sandbox that answers one request at a time."""
    source = MemoryStore(tmp_path / "crm.json")
    for i in range(RECORDS):
        source.add({"email": f"p{i}@example.com", "name": f"Person {i}"})
    stripe = {
        "connector": "stripe",
        "settings": {**server.settings(), "max_concurrency": 1, "requests_per_second": 1000.0, "timeout_seconds": 10},
    }
    return write_config(
        tmp_path / "pairsync.yaml",
        {"crm": memory_account(f"crm-{uuid.uuid4().hex[:6]}", tmp_path / "crm.json"), "billing": stripe},
        [{"name": name, "left": "crm", "right": "billing", "direction": "left-to-right"}],
        state=state,
    )


def customers_by_email(sandbox: StripeSandbox) -> Counter[str]:
    return Counter(record["email"] for record in sandbox.records())


def runs_of(config: Path, name: str) -> list[dict[str, Any]]:
    store = StateStore(load_config(config).state_url)
    try:
        return store.runs(name, limit=100)
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize(("grace", "expected"), [("20", "ok"), ("0.2", "interrupted")])
def test_sigterm_in_the_middle_of_a_run(tmp_path: Path, processes, grace: str, expected: str) -> None:
    """SIGTERM while a write is held at the sandbox: a long grace lets the run finish, a short one interrupts it."""
    sandbox, gate = StripeSandbox(), Gate()
    with SandboxServer(Wired(sandbox, gate)) as server:  # type: ignore[arg-type]
        config = slow_stripe_config(tmp_path, server, "people")
        service = processes(config, {"PAIRSYNC_SHUTDOWN_GRACE": grace})
        assert service.http.post("/connections/people/run").status_code == 202
        wait_for(lambda: gate.held, timeout=60)  # the run is mid-write, however fast the machine is

        service.process.send_signal(signal.SIGTERM)
        if expected == "ok":
            gate.open()  # the held write answers; the run finishes inside its grace
        code = service.process.wait(timeout=120)
        gate.open()  # the write held past an interrupted run lands now, its answer lost: the restart must cope

        assert code in {0, -15}, service.log.read_text()
        [run] = runs_of(config, "people")
        assert run["status"] == expected
        if expected == "ok":
            assert run["summary"]["created"]["right"] == RECORDS

        # started again, the connection is free and the run completes without a single duplicate
        loaded = load_config(config)
        store = StateStore(loaded.state_url)
        report = asyncio.run(run_connection(loaded, loaded.config.connection("people"), store))
        store.close()
        assert report.status == "ok", report.summary()
        counts = customers_by_email(sandbox)
        assert sorted(counts) == sorted(f"p{i}@example.com" for i in range(RECORDS))
        assert set(counts.values()) == {1}
        assert "Traceback" not in service.log.read_text()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_services_on_one_postgres_state_never_run_a_connection_at_once(
    tmp_path: Path, processes, postgres_url: str
) -> None:
    """While one service's run is held mid-write, the other service is refused with `busy`: no race needed."""
    sandbox, gate = StripeSandbox(), Gate()
    with SandboxServer(Wired(sandbox, gate)) as server:  # type: ignore[arg-type]
        config = slow_stripe_config(tmp_path, server, "shared", state=postgres_url)
        first, second = processes(config), processes(config)

        assert first.http.post("/connections/shared/run").status_code == 202
        wait_for(lambda: gate.held, timeout=60)  # the first service holds the connection, mid-write
        refused = second.http.post("/connections/shared/run", params={"wait": "true"}).json()
        assert refused["status"] == "busy", refused
        gate.open()
        wait_for(lambda: [r for r in runs_of(config, "shared") if r["status"] != "running"], timeout=60)
        again = second.http.post("/connections/shared/run", params={"wait": "true"}).json()
        assert again["status"] == "ok", again

        runs = sorted(runs_of(config, "shared"), key=lambda r: r["started_at"])
        assert [r["status"] for r in runs] == ["ok", "ok"]
        for earlier, later in itertools.pairwise(runs):
            assert _aware(earlier["finished_at"]) <= _aware(later["started_at"]), (earlier, later)
        assert set(customers_by_email(sandbox).values()) == {1}
        metrics = second.http.get("/metrics").text
        assert 'status="busy"' in metrics


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
