"""The notification period is claimed atomically: one message per target, connection and kind per period."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from engine.state.store import StateStore

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("later", "expected"),
    [
        (timedelta(0), False),  # the same instant again
        (timedelta(minutes=59), False),  # within the period
        (HOUR, True),  # the period is over
        (timedelta(hours=5), True),
        (-timedelta(minutes=1), False),  # a clock that went back never sends again early
    ],
)
def test_a_second_claim_waits_for_the_period(store: StateStore, later: timedelta, expected: bool) -> None:
    assert store.claim_notice("webhook:1", "crm", "run_failed", HOUR, T0)
    assert store.claim_notice("webhook:1", "crm", "run_failed", HOUR, T0 + later) is expected


def test_each_key_has_its_own_period(store: StateStore) -> None:
    assert store.claim_notice("webhook:1", "crm", "run_failed", HOUR, T0)
    assert store.claim_notice("webhook:2", "crm", "run_failed", HOUR, T0)
    assert store.claim_notice("webhook:1", "books", "run_failed", HOUR, T0)
    assert store.claim_notice("webhook:1", "crm", "recovered", HOUR, T0)


def test_processes_claiming_at_the_same_instant_send_once(state_url: str) -> None:
    """Eight claimants (each with its own store, as separate processes would have) race for one key."""
    stores = [StateStore(state_url) for _ in range(8)]
    start = threading.Barrier(len(stores))

    def claim(store: StateStore, moment: datetime) -> bool:
        start.wait()
        return store.claim_notice("slack:ops", "crm", "needs_reconnect", HOUR, moment)

    try:
        for round_ in range(5):  # each round one period later: every round must have exactly one winner
            moment = T0 + round_ * 2 * HOUR
            with ThreadPoolExecutor(len(stores)) as pool:
                won = list(pool.map(claim, stores, [moment] * len(stores)))
            assert won.count(True) == 1, won
    finally:
        for store in stores:
            store.close()
