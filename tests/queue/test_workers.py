"""Scale-out with real processes on one PostgreSQL state: workers share the runs, a killed worker's run is
finished by another without duplicates, ticking services never start a due time twice, and a burst of
webhooks for one connection keeps at most one waiting and one running job."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.sandbox import Knobs, SandboxServer
from tests.queue.conftest import PAIRSYNC, Cluster, memory_file_account, patiently
from tests.service.test_webhooks import STRIPE_FAST, stripe_event, stripe_signed

pytestmark = pytest.mark.postgres


def people(prefix: str, count: int) -> list[dict[str, str]]:
    return [{"email": f"{prefix}{i}@example.com", "name": f"Person {prefix}{i}"} for i in range(count)]


def memory_emails(path: Path) -> list[str]:
    data = json.loads(path.read_text()) if path.exists() else {"records": {}}
    return sorted(r["fields"]["email"] for r in data["records"].values() if not r["deleted"])


def test_three_workers_run_fifty_connections_once_each(cluster: Callable[..., Cluster], tmp_path: Path) -> None:
    accounts, connections = {}, []
    for i in range(50):
        accounts[f"src{i}"] = memory_file_account(tmp_path, f"src{i}", people(f"c{i}-", 3))
        accounts[f"dst{i}"] = memory_file_account(tmp_path, f"dst{i}")
        connections.append({"name": f"conn{i}", "left": f"src{i}", "right": f"dst{i}", "direction": "left-to-right"})
    queue = cluster(accounts, connections)
    workers = [queue.worker(concurrency=1) for _ in range(3)]
    for connection in connections:
        queue.ask(connection["name"])

    runs = patiently(lambda: len(queue.finished_runs()) >= 50 and queue.finished_runs())
    assert Counter(r["connection"] for r in runs) == {c["name"]: 1 for c in connections}
    assert {r["status"] for r in runs} == {"ok"}
    by_worker = Counter(r["worker"] for r in runs)
    assert set(by_worker) == {f"{_host(runs)}:{w.pid}" for w in workers}, by_worker  # every worker took some
    for i in range(50):
        assert memory_emails(tmp_path / f"dst{i}.json") == [p["email"] for p in people(f"c{i}-", 3)]
    assert all(r["queue_wait"] is not None and r["queue_wait"] >= 0 for r in runs)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM past the grace period"])
def test_a_worker_stopped_mid_run_is_finished_by_another_with_no_duplicate(
    cluster: Callable[..., Cluster], tmp_path: Path, how: str
) -> None:
    google = GoogleContactsSandbox()
    stripe = StripeSandbox()
    for person in people("k", 60):
        google.add_record({"givenName": "Person", "familyName": person["email"], "email": person["email"]})
    with (
        SandboxServer(google) as google_server,
        SandboxServer(stripe, knobs=Knobs(latency_ms=80)) as stripe_server,
    ):
        accounts = {
            "contacts": {"connector": "google_contacts", "settings": google_server.settings()},
            "billing": {"connector": "stripe", "settings": {**stripe_server.settings(), **STRIPE_FAST}},
        }
        connection = {"name": "sync", "left": "contacts", "right": "billing", "direction": "left-to-right"}
        queue = cluster(accounts, [connection], env={"PAIRSYNC_QUEUE_GRACE": "0.5"})
        first = queue.worker()
        queue.ask("sync")
        patiently(lambda: len(stripe.records()) >= 10)  # creates are landing
        if how == "SIGKILL":
            first.kill()
        else:
            first.stop()  # SIGTERM: the run cannot finish within 0.5 s, so it is cut short and handed back
        assert len(stripe.records()) < 60, "the kill came after the run: nothing was proven"
        second = queue.worker()
        done = patiently(lambda: [r for r in queue.finished_runs("sync") if r["status"] == "ok"])
        emails = Counter(r.get("email") for r in stripe.records())
        assert sorted(emails) == sorted(p["email"] for p in people("k", 60))
        assert set(emails.values()) == {1}, "a customer was created twice"
        history = [(r["status"], r["worker"]) for r in queue.store.runs("sync")]
        assert [status for status, _worker in history[1:]] == ["interrupted"], history  # closed, not left running
        ran_by_second = rf"run {done[0]['id']} of sync \(ok\): \S+:{second.pid} in"
        patiently(lambda: re.search(ran_by_second, second.output()))  # the other worker finished it, and said so
        assert queue.store.runs("sync")[0]["worker"].endswith(f":{second.pid}"), history
        handed_back = "lost its worker" if how == "SIGKILL" else "cut short by shutdown"
        assert handed_back in "".join(p.output() for p in queue.processes)


def test_two_ticking_services_never_start_one_due_time_twice(cluster: Callable[..., Cluster], tmp_path: Path) -> None:
    accounts, connections = {}, []
    for i in range(10):
        accounts[f"src{i}"] = memory_file_account(tmp_path, f"src{i}", people(f"t{i}-", 1))
        accounts[f"dst{i}"] = memory_file_account(tmp_path, f"dst{i}")
        connections.append(
            {"name": f"conn{i}", "left": f"src{i}", "right": f"dst{i}", "direction": "left-to-right", "schedule": "2s"}
        )
    queue = cluster(accounts, connections)
    services = [queue.service()[0] for _ in range(2)]

    def claims() -> list[tuple[str, str, int]]:
        found = []
        for index, service in enumerate(services):
            for name, due in re.findall(r"schedule of (\S+) due at (\S+): queued", service.output()):
                found.append((name, due, index))
        return found

    patiently(lambda: len({name for name, _due, _i in claims()}) == 10 and len(claims()) >= 40)
    due_times = Counter((name, due) for name, due, _index in claims())
    assert max(due_times.values()) == 1, [key for key, n in due_times.items() if n > 1]
    # Which service claims a due time depends on the phase of its ticks (often the same one each time); what
    # matters is that both tick against the same schedules and no due time is ever claimed twice.
    assert all(service.process.poll() is None for service in services)


def test_a_burst_of_webhooks_keeps_one_waiting_and_one_running_job(
    cluster: Callable[..., Cluster], tmp_path: Path
) -> None:
    stripe = StripeSandbox()
    ids = [stripe.add_record(p) for p in people("w", 100)]
    with SandboxServer(stripe, knobs=Knobs(latency_ms=20)) as server:
        settings = {**server.settings(), **STRIPE_FAST}
        accounts = {
            "billing": {"connector": "stripe", "settings": settings},
            "crm": memory_file_account(tmp_path, "crm"),
        }
        connection = {"name": "billing", "left": "billing", "right": "crm", "direction": "left-to-right"}
        queue = cluster(accounts, [connection])
        _service, client = queue.service()
        queue.worker(concurrency=2)
        seen: list[tuple[int, int]] = []

        def deliver(customer: str) -> int:
            body = stripe_event(customer)
            return client.post(
                "/webhooks/billing", content=body, headers=stripe_signed(body, settings["webhook_secret"])
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            sent = pool.map(deliver, ids)
            while True:
                jobs = queue.jobs().get("billing")
                if jobs is not None:
                    seen.append((jobs.waiting, jobs.running))
                if len(memory_emails(tmp_path / "crm.json")) == 100:
                    break
                time.sleep(0.05)
            assert set(sent) == {202}
        assert seen, "no job was ever seen in the queue"
        assert max(w for w, _r in seen) <= 1 and max(r for _w, r in seen) <= 1, seen
        runs = patiently(lambda: queue.finished_runs("billing"))  # the last run's row closes after its writes
        assert 1 <= len(runs) < 100, queue.store.runs("billing")  # coalesced into a few runs, not one per webhook


def _host(runs: list[dict[str, str]]) -> str:
    return runs[0]["worker"].rsplit(":", 1)[0]


def test_status_and_the_api_show_waiting_jobs(cluster: Callable[..., Cluster], tmp_path: Path) -> None:
    accounts = {
        "src": memory_file_account(tmp_path, "src", people("s", 2)),
        "dst": memory_file_account(tmp_path, "dst"),
    }
    queue = cluster(accounts, [{"name": "one", "left": "src", "right": "dst", "direction": "left-to-right"}])
    queue.ask("one", "api")
    queue.ask("one", "schedule")
    shown = subprocess.run(
        [PAIRSYNC, "status", str(queue.config), "--json"], capture_output=True, text=True, check=True
    ).stdout
    status = json.loads(shown)
    status = status[0] if isinstance(status, list) else status
    assert status["queue"] == {"waiting": 1, "running": 0, "asked_by": ["api", "schedule"]}
    _service, client = queue.service()
    assert client.get("/connections/one").json()["status"]["queue"]["waiting"] == 1
