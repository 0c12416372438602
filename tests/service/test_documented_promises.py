"""What docs/service.md promises about webhooks, run history and metrics, each shown to happen.

Every wait here is for a positive sign (a run row, a metric line, a record's
new value), never a pause.
"""

from __future__ import annotations

import hashlib
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from engine.service.history import run_lock
from engine.state import tables
from engine.state.store import StateStore
from engine.state.tables import utcnow
from engine.testing.memory import MemoryStore
from tests.service.conftest import memory_account, wait_for, write_config
from tests.service.test_webhooks import StripeSetup, names, stripe_event, stripe_signed, webhook_runs

LOCKS = tables.Lock.__table__  # type: ignore[attr-defined]
MEGABYTE = 1_000_000


@pytest.fixture
def stripe(tmp_path: Path, stores, serve) -> Any:
    setup = StripeSetup(tmp_path, stores, serve)
    yield setup
    setup.server.stop()


def finished_webhook_runs(setup: StripeSetup) -> list[dict[str, Any]]:
    return [r for r in webhook_runs(setup.service) if r["status"] != "running"]


def test_a_webhook_body_over_one_megabyte_gets_413_and_changes_nothing(stripe: StripeSetup) -> None:
    body = b'{"id": "evt_big", "padding": "' + b"x" * MEGABYTE + b'"}'
    answer = stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret))
    assert answer.status_code == 413
    just_under = stripe.post(b"{}", stripe_signed(b"{}", "whsec_wrong"))
    assert just_under.status_code == 400, "a small body is read and checked as usual"


def test_a_delivery_is_remembered_for_72_hours_and_ignored_by_a_second_service(
    tmp_path: Path, stripe: StripeSetup, serve
) -> None:
    body = stripe.rename(0, "Delivered Once")
    assert stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret)).status_code == 202
    wait_for(lambda: finished_webhook_runs(stripe))

    second = serve(tmp_path / "pairsync.yaml")  # another service process on the same state store
    signed = stripe_signed(body, stripe.sandbox.webhook_secret)
    again = second.http.post("/webhooks/stripe", content=body, headers=signed)
    assert again.json() == {"status": "duplicate"}

    store: StateStore = stripe.service.service.store
    name = f"webhook:stripe:{hashlib.sha256(body).hexdigest()}"
    with store.engine.begin() as tx:
        [expires] = tx.execute(LOCKS.select().with_only_columns(LOCKS.c.expires_at).where(LOCKS.c.name == name))
    left = expires[0].replace(tzinfo=expires[0].tzinfo or utcnow().tzinfo) - utcnow()
    assert timedelta(hours=71) < left <= timedelta(hours=72), f"remembered for {left}"

    with store.engine.begin() as tx:  # 72 hours pass
        tx.execute(update(LOCKS).where(LOCKS.c.name == name).values(expires_at=utcnow() - timedelta(seconds=1)))
    later = second.http.post("/webhooks/stripe", content=body, headers=signed)
    assert later.status_code == 202, "after 72 hours the same body is a new delivery"


def test_a_coalesced_webhook_batch_that_loses_the_lock_is_retried(stripe: StripeSetup) -> None:
    store: StateStore = stripe.service.service.store
    assert store.acquire(run_lock("billing"), "another-process")  # another process is running this connection
    body = stripe.rename(0, "After The Lock")
    assert stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret)).status_code == 202
    busy = 'pairsync_runs_total{connection="billing",status="busy",trigger="webhook"}'
    wait_for(lambda: busy in stripe.service.http.get("/metrics").text)  # the batch lost the lock at least once
    assert names(stripe.memory)["c0@example.com"] == "Customer 0"

    store.release(run_lock("billing"), "another-process")
    [run] = wait_for(lambda: finished_webhook_runs(stripe))
    assert run["status"] == "ok" and run["summary"]["updated"]["right"] == 1
    assert names(stripe.memory)["c0@example.com"] == "After The Lock"


def test_rate_limit_waits_are_counted_in_the_metrics(stripe: StripeSetup) -> None:
    stripe.server.knobs.rate_limit = 200.0  # a new limit starts with an empty bucket: the first request gets a 429
    stripe.sandbox.update_record(stripe.ids[0], {"name": "Throttled"})
    answer = stripe.service.http.post("/connections/billing/run", params={"wait": "true"}).json()
    assert answer["status"] == "ok", answer
    assert stripe.server.knobs.rejected > 0
    metrics = stripe.service.http.get("/metrics").text
    [line] = [m for m in metrics.splitlines() if m.startswith('pairsync_rate_limit_waits_total{connection="billing"')
              and 'side="left"' in m]
    assert float(line.rsplit(" ", 1)[1]) >= 1, line


def test_a_record_the_app_no_longer_has_is_treated_as_deleted_in_a_targeted_sync(stripe: StripeSetup) -> None:
    gone = stripe.ids[1]
    with stripe.sandbox.store.lock:
        stripe.sandbox.store.objects.pop(gone)  # purged: Stripe answers 404 for it now, not `deleted: true`
    body = stripe_event(gone)  # the event names the purged customer
    assert stripe.post(body, stripe_signed(body, stripe.sandbox.webhook_secret)).status_code == 202
    [run] = wait_for(lambda: finished_webhook_runs(stripe))
    assert run["status"] == "ok", run
    [linked] = [r for r in stripe.memory.records.values() if r.fields.get("email") == "c1@example.com"]
    assert "pairsync Trash" in linked.tags and not linked.deleted, "tagged for review, never deleted"


def test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted_when_a_service_starts(
    tmp_path: Path, stores, serve
) -> None:
    source, target = stores("left"), stores("right")
    source.add({"email": "ada@example.com", "name": "Ada"})
    config = write_config(
        tmp_path / "pairsync.yaml",
        {"a": memory_account(_name(source)), "b": memory_account(_name(target))},
        [{"name": "people", "left": "a", "right": "b", "direction": "left-to-right"}],
    )
    (tmp_path / ".pairsync").mkdir()
    store = StateStore(f"sqlite:///{tmp_path / '.pairsync' / 'state.db'}")
    abandoned = store.start_run("people")  # its process was killed: nobody finishes it, no lock is held
    store.close()

    service = serve(config)
    [run] = [r for r in service.runs(connection="people") if r["id"] == abandoned]
    assert run["status"] == "interrupted" and run["finished_at"] is not None


def test_a_run_still_holding_its_lock_is_not_closed_when_a_service_starts(tmp_path: Path, stores, serve) -> None:
    source, target = stores("left"), stores("right")
    config = write_config(
        tmp_path / "pairsync.yaml",
        {"a": memory_account(_name(source)), "b": memory_account(_name(target))},
        [{"name": "people", "left": "a", "right": "b", "direction": "left-to-right"}],
    )
    (tmp_path / ".pairsync").mkdir()
    store = StateStore(f"sqlite:///{tmp_path / '.pairsync' / 'state.db'}")
    alive = store.start_run("people")
    assert store.acquire(run_lock("people"), "a-live-process")
    store.close()

    service = serve(config)
    [run] = [r for r in service.runs(connection="people") if r["id"] == alive]
    assert run["status"] == "running", "a run another live process holds is left alone"


@pytest.mark.slow
def test_sighup_reloads_the_config(tmp_path: Path, processes) -> None:
    source = MemoryStore(tmp_path / "crm.json")
    source.add({"email": "ada@example.com", "name": "Ada"})
    accounts = {"a": memory_account("crm-hup", tmp_path / "crm.json"), "b": memory_account("book-hup")}
    connection = {"name": "people", "left": "a", "right": "b", "direction": "left-to-right"}
    config = write_config(tmp_path / "pairsync.yaml", accounts, [connection])
    service = processes(config, {"PAIRSYNC_CONFIG_WATCH": "3600"})  # only SIGHUP can make it read the file again
    assert [c["name"] for c in service.http.get("/connections").json()["connections"]] == ["people"]

    write_config(config, accounts, [connection, {**connection, "name": "people-again"}])
    service.process.send_signal(signal.SIGHUP)
    wait_for(lambda: len(service.http.get("/connections").json()["connections"]) == 2, timeout=60)
    assert "Traceback" not in service.log.read_text()


def _name(store: MemoryStore) -> str:
    return next(name for name, known in MemoryStore._named.items() if known is store)
