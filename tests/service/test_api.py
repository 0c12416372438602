"""The run-history API over real HTTP: run now, runs and their events, records, enable/disable, bad input, auth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli import app as cli
from engine.service import ServiceError, ServiceSettings
from engine.testing.memory import MemoryStore
from tests.service.conftest import FAST, memory_account, store_name, wait_for, write_config


@pytest.fixture
def pair(tmp_path: Path, stores) -> tuple[Path, MemoryStore, MemoryStore]:
    """Two memory accounts: left has Ada and Grace, right has Grace already and Linus alone."""
    left, right = stores("left"), stores("right")
    left.add({"email": "ada@example.com", "name": "Ada Lovelace"})
    left.add({"email": "grace@example.com", "name": "Grace Hopper"})
    right.add({"email": "grace@example.com", "name": "Grace Hopper"})
    right.add({"email": "linus@example.com", "name": "Linus"})
    config = write_config(
        tmp_path / "pairsync.yaml",
        {"crm": memory_account(store_name(left)), "billing": memory_account(store_name(right))},
        [
            {"name": "people", "left": "crm", "right": "billing", "mode": {"left": "update-only"}},
            {"name": "paused", "left": "crm", "right": "billing", "enabled": False},
        ],
    )
    return config, left, right


def test_run_now_and_read_back_its_history(serve, pair) -> None:
    config, _left, right = pair
    service = serve(config)

    done = service.http.post("/connections/people/run", params={"wait": "true"})
    assert done.status_code == 200, done.text
    summary = done.json()
    assert summary["status"] == "ok"
    assert summary["created"] == {"left": 0, "right": 1}
    assert "ada@example.com" in {r.fields["email"] for r in right.live().values()}

    run = service.http.get(f"/runs/{summary['run_id']}").json()
    assert run["trigger"] == "api" and run["status"] == "ok"
    assert {(e["kind"], e["side"]) for e in run["events"]} >= {("created", "right"), ("linked", "left")}
    assert run["errors"] == []

    listed = service.http.get("/connections").json()["connections"]
    people = next(c for c in listed if c["name"] == "people")
    assert people["last_run"]["id"] == summary["run_id"] and people["enabled"] is True
    assert next(c for c in listed if c["name"] == "paused")["enabled"] is False


def test_run_now_without_waiting_answers_at_once_and_runs(serve, pair) -> None:
    config, _left, _right = pair
    service = serve(config)
    started = service.http.post("/connections/people/run")
    assert started.status_code == 202
    finished = wait_for(lambda: [r for r in service.runs(connection="people") if r["status"] != "running"])
    assert finished[0]["trigger"] == "api"


def test_records_linked_or_not(serve, pair) -> None:
    config, _left, _right = pair
    service = serve(config)
    service.http.post("/connections/people/run", params={"wait": "true"}).raise_for_status()

    def emails(synced: str) -> set[tuple[str, str]]:
        body = service.http.get("/records", params={"connection": "people", "synced": synced}).json()
        return {(r["side"], r["fields"]["email"]) for r in body["records"]}

    # update-only on the left: Linus is never created there, so he stays unlinked
    assert emails("no") == {("right", "linus@example.com")}
    assert ("left", "ada@example.com") in emails("yes") and ("right", "ada@example.com") in emails("yes")


def test_disable_stops_runs_and_enable_brings_them_back(serve, pair) -> None:
    config, _left, _right = pair
    service = serve(config)

    disabled = service.http.post("/connections/people/disable").json()
    assert (disabled["enabled"], disabled["disabled_by_api"]) == (False, True)
    assert service.http.post("/connections/people/run").status_code == 409

    enabled = service.http.post("/connections/people/enable").json()
    assert enabled["enabled"] is True
    assert service.http.post("/connections/people/run", params={"wait": "true"}).json()["status"] == "ok"


def test_a_connection_the_config_disables_cannot_be_enabled_through_the_api(serve, pair) -> None:
    config, _left, _right = pair
    service = serve(config)
    refused = service.http.post("/connections/paused/enable")
    assert refused.status_code == 409
    assert "enabled: false" in refused.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "status", "says"),
    [
        ("GET", "/records", 400, "connection is required"),
        ("GET", "/records?connection=people&synced=maybe", 400, "synced must be yes or no"),
        ("GET", "/records?connection=people&limit=lots", 400, "limit must be a whole number"),
        ("GET", "/runs?limit=0", 400, "limit must be between"),
        ("GET", "/records?connection=nobody", 404, "no connection named 'nobody'"),
        ("POST", "/connections/nobody/run", 404, "no connection named"),
        ("POST", "/connections/people/explode", 404, "unknown action"),
        ("GET", "/runs/999999", 404, "no such run"),
        ("POST", "/webhooks/nobody", 404, "no account named"),
    ],
)
def test_bad_requests_get_a_clear_error(serve, pair, method: str, path: str, status: int, says: str) -> None:
    config, _left, _right = pair
    response = serve(config).http.request(method, path)
    assert response.status_code == status
    assert says in response.json()["error"]


def test_health_and_metrics(serve, pair) -> None:
    config, _left, _right = pair
    service = serve(config)
    assert service.http.get("/healthz").json()["status"] == "ok"
    service.http.post("/connections/people/run", params={"wait": "true"}).raise_for_status()
    metrics = service.http.get("/metrics").text
    assert 'pairsync_runs_total{connection="people",status="ok",trigger="api"} 1.0' in metrics
    assert 'pairsync_records_written_total{connection="people",kind="created",side="right"} 1.0' in metrics
    assert 'pairsync_api_requests_total{connection="people",side="left"}' in metrics


def test_the_token_guards_the_api_but_not_health_or_webhooks(serve, pair) -> None:
    config, _left, _right = pair
    settings = ServiceSettings(token="s3cret-token", webhook_debounce=0.2, config_watch=0.2)
    service = serve(config, settings)
    service.http.headers.pop("Authorization")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
        refused = service.http.get("/connections", headers=headers)
        assert refused.status_code == 401 and "s3cret-token" not in refused.text
    assert service.http.get("/connections", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert service.http.get("/healthz").status_code == 200
    assert service.http.post("/webhooks/crm", content=b"{}").status_code == 400  # signature, not token


@pytest.mark.parametrize(
    ("host", "env", "problem"),
    [
        ("127.0.0.1", {}, None),
        ("::1", {}, None),
        ("localhost", {}, None),
        ("0.0.0.0", {}, "set PAIRSYNC_API_TOKEN"),
        ("192.168.1.20", {}, "set PAIRSYNC_API_TOKEN"),
        ("0.0.0.0", {"PAIRSYNC_API_TOKEN": "Zx8vQ2mL7pR4tW9yB3nK6cF1hJ5dG0sA-ue"}, None),
        ("127.0.0.1", {"PAIRSYNC_SHUTDOWN_GRACE": "soon"}, "must be a number of seconds"),
        ("127.0.0.1", {"PAIRSYNC_WEBHOOK_DEBOUNCE": "-1"}, "must not be negative"),
    ],
)
def test_settings_refuse_an_open_api_without_a_token(host: str, env: dict[str, str], problem: str | None) -> None:
    if problem is None:
        assert ServiceSettings.from_env(host, env).token == env.get("PAIRSYNC_API_TOKEN")
    else:
        with pytest.raises(ServiceError, match=problem):
            ServiceSettings.from_env(host, env)


def test_status_command_and_api_read_the_same_history(serve, pair) -> None:
    config, _left, _right = pair
    service = serve(config)
    run_id = service.http.post("/connections/people/run", params={"wait": "true"}).json()["run_id"]
    shown = CliRunner().invoke(cli, ["status", str(config), "--json"])
    assert shown.exit_code == 0, shown.output
    people = next(item for item in json.loads(shown.output) if item["connection"] == "people")
    api: dict[str, Any] = service.http.get("/connections/people").json()["status"]
    assert people["runs"][0]["id"] == api["runs"][0]["id"] == run_id
    assert people["linked"] == api["linked"] == 2


def test_fast_settings_are_what_the_harness_uses() -> None:
    assert FAST.webhook_debounce < 1
