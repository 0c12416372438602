"""Schedules: intervals and cron, a schedule firing, runs missed while down caught up once, reloads."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from engine.config import load_config
from engine.service.schedule import interval_of, missed
from engine.state import tables as t
from engine.state.store import StateStore
from tests.service.conftest import memory_account, store_name, wait_for, write_config

NOON = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "last", "now", "expected"),
    [
        ("15m", None, NOON, False),
        ("15m", NOON, NOON + timedelta(minutes=14), False),
        ("15m", NOON, NOON + timedelta(minutes=15), True),
        ("15m", NOON, NOON + timedelta(days=3), True),
        ("0 3 * * *", NOON, NOON + timedelta(hours=14), False),
        ("0 3 * * *", NOON, NOON + timedelta(hours=15, minutes=1), True),
        ("*/5 * * * *", NOON, NOON + timedelta(minutes=4), False),
    ],
)
def test_missed_fire_times(schedule: str, last: datetime | None, now: datetime, expected: bool) -> None:
    assert missed(schedule, last, now) is expected


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)), ("2 h", timedelta(hours=2)),
     ("1d", timedelta(days=1)), ("0 3 * * *", None)],
)
def test_intervals(schedule: str, interval: timedelta | None) -> None:
    assert interval_of(schedule) == interval


def config_with(tmp_path: Path, stores, **connection: object) -> Path:
    left, right = stores("left"), stores("right")
    left.add({"email": "ada@example.com", "name": "Ada"})
    return write_config(
        tmp_path / "pairsync.yaml",
        {"a": memory_account(store_name(left)), "b": memory_account(store_name(right))},
        [{"name": "people", "left": "a", "right": "b", **connection}],
    )


def scheduled(service) -> list[dict[str, Any]]:
    return [r for r in service.runs(connection="people") if r["trigger"] == "schedule"]


def test_a_schedule_fires(serve, tmp_path: Path, stores) -> None:
    service = serve(config_with(tmp_path, stores, schedule="1s"))
    assert service.http.get("/connections").json()["connections"][0]["next_run"] is not None
    runs = wait_for(lambda: [r for r in scheduled(service) if r["status"] == "ok"], timeout=10)
    assert runs[0]["summary"]["created"]["right"] == 1


def test_runs_missed_while_down_are_caught_up_once(serve, tmp_path: Path, stores) -> None:
    config = config_with(tmp_path, stores, schedule="1h")
    store = StateStore(load_config(config).state_url)
    for _ in range(3):  # three old runs; five hours of missed fire times since the last one
        run_id = store.start_run("people", "schedule")
        store.finish_run(run_id, "ok", {})
    with store.engine.begin() as tx:
        tx.execute(update(t.Run.__table__).values(started_at=datetime.now(UTC) - timedelta(hours=5)))  # type: ignore[attr-defined]
    store.close()

    service = serve(config)
    wait_for(lambda: len(scheduled(service)) == 4)
    wait_for(lambda: scheduled(service)[0]["status"] == "ok")
    assert len(scheduled(service)) == 4  # one catch-up run, not five


def test_a_changed_config_is_picked_up_and_a_broken_one_is_not(serve, tmp_path: Path, stores) -> None:
    config = config_with(tmp_path, stores)
    service = serve(config)
    assert service.http.get("/connections").json()["connections"][0]["schedule"] is None

    original = config.read_text()
    config.write_text(original.replace("name: people", "name: people\n  schedule: 1s"))
    wait_for(lambda: [r for r in scheduled(service) if r["status"] == "ok"], timeout=10)

    config.write_text("accounts: {}\nconnections: [")
    broken = hashlib.sha256(config.read_bytes()).hexdigest()
    wait_for(lambda: service.service._config_digest == broken)  # the service has read the broken file
    listed = service.http.get("/connections").json()["connections"]
    assert listed[0]["schedule"] == "1s"  # the broken file left the running config in place


def test_config_disabling_a_connection_stops_its_schedule(serve, tmp_path: Path, stores) -> None:
    config = config_with(tmp_path, stores, schedule="1h")
    service = serve(config)
    assert service.http.get("/connections").json()["connections"][0]["next_run"] is not None
    config.write_text(config.read_text().replace("schedule: 1h", "schedule: 1h\n  enabled: false"))
    wait_for(lambda: service.http.get("/connections").json()["connections"][0]["next_run"] is None)


def test_a_reload_with_a_bad_cron_keeps_the_old_schedule_and_says_so(serve, tmp_path: Path, stores) -> None:
    """Issue 18.2: an out-of-range cron field removed the job, `next_run` became null and /healthz said ok."""
    config = config_with(tmp_path, stores, schedule="1h")
    service = serve(config)
    before = service.http.get("/connections").json()["connections"][0]["next_run"]
    assert before is not None and service.http.get("/healthz").json()["status"] == "ok"
    config.write_text(config.read_text().replace("schedule: 1h", "schedule: '0 25 * * *'"))
    health = wait_for(lambda: (h := service.http.get("/healthz").json())["status"] == "degraded" and h)
    assert len(health["problems"]) == 1
    assert "config not reloaded: " in health["problems"][0]
    assert "schedule '0 25 * * *' is not a valid cron expression: hour '25'" in health["problems"][0]
    listed = service.http.get("/connections").json()["connections"][0]
    assert (listed["schedule"], listed["next_run"]) == ("1h", before)

    config.write_text(config.read_text().replace("schedule: '0 25 * * *'", "schedule: 2h"))
    wait_for(lambda: service.http.get("/healthz").json()["status"] == "ok")
    assert service.http.get("/connections").json()["connections"][0]["schedule"] == "2h"
