"""The queue's shared state: run requests that coalesce, and schedules whose due times are claimed once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from engine.queue.jobs import next_fire
from engine.state.store import StateStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(postgres_url: str) -> Iterator[StateStore]:
    store = StateStore(postgres_url)
    yield store
    store.close()


def test_a_burst_of_webhook_wishes_is_one_waiting_wish_naming_every_record(pg: StateStore) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: pg.request_run("c", "webhook", named={"left": [f"cus_{i}"]}), range(100)))
    waiting = pg.waiting_requests()
    assert list(waiting) == ["c"]
    assert waiting["c"].named["left"] == sorted(f"cus_{i}" for i in range(100))
    assert not waiting["c"].feed
    assert waiting["c"].trigger == "webhook"


def test_a_schedule_joining_a_webhook_wish_makes_it_a_change_feed_run(pg: StateStore) -> None:
    pg.request_run("c", "webhook", named={"right": ["people/1"]})
    pg.request_run("c", "schedule")
    wish = pg.take_requests("c")
    assert wish is not None and wish.feed and wish.trigger == "webhook+schedule"
    assert wish.named == {"right": ["people/1"]}


def test_a_taken_wish_survives_until_its_run_ends_so_a_retried_job_runs_it_again(pg: StateStore) -> None:
    pg.request_run("c", "api")
    first = pg.take_requests("c")
    again = pg.take_requests("c")  # the same job, retried after its worker died
    assert first == again and first is not None and first.feed
    pg.finish_requests("c")
    assert pg.take_requests("c") is None


def test_a_busy_run_gives_its_wish_back_merged_with_what_arrived_meanwhile(pg: StateStore) -> None:
    pg.request_run("c", "webhook", named={"left": ["a"]})
    pg.take_requests("c")
    pg.request_run("c", "webhook", named={"left": ["b"]})
    pg.return_requests("c")
    wish = pg.take_requests("c")
    assert wish is not None and wish.named == {"left": ["a", "b"]}


def test_two_ticking_processes_claim_each_due_time_once(postgres_url: str) -> None:
    stores = [StateStore(postgres_url) for _ in range(4)]
    try:
        now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        wanted = {f"c{i}": "1m" for i in range(30)}
        stores[0].sync_schedules(wanted, lambda schedule, after: now - timedelta(seconds=1))
        with ThreadPoolExecutor(4) as pool:
            claims = list(pool.map(lambda store: store.claim_due(now, next_fire), stores))
        claimed = sorted(name for claim in claims for name, _due in claim)
        assert claimed == sorted(wanted)  # every due connection once, by exactly one claimant
    finally:
        for store in stores:
            store.close()


def test_an_hour_of_missed_periods_starts_a_connection_once(pg: StateStore) -> None:
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    pg.sync_schedules({"c": "1m"}, lambda schedule, after: start)
    later = start + timedelta(hours=1)
    assert [name for name, _ in pg.claim_due(later, next_fire)] == ["c"]
    assert pg.claim_due(later, next_fire) == []
    assert pg.next_due("c") == later + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("15m", datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC), datetime(2026, 12, 1, 12, 15, 30, tzinfo=UTC)),
        ("0 * * * *", datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC), datetime(2026, 12, 1, 13, 0, 0, tzinfo=UTC)),
        ("*/5 * * * *", datetime(2026, 12, 1, 12, 3, 10, tzinfo=UTC), datetime(2026, 12, 1, 12, 5, 0, tzinfo=UTC)),
    ],
)
def test_next_fire_is_strictly_after(schedule: str, after: datetime, expected: datetime) -> None:
    assert next_fire(schedule, after) == expected


def test_schedules_follow_the_config(pg: StateStore) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    pg.sync_schedules({"a": "1m", "b": "1h"}, lambda schedule, after: now)
    pg.sync_schedules({"a": "1m"}, lambda schedule, after: now + timedelta(days=1))
    assert pg.next_due("a") == now  # unchanged schedule keeps its due time
    assert pg.next_due("b") is None
