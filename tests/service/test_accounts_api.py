"""The API shows an account that needs reconnect, with the command that fixes it; its connection's runs pause."""

from __future__ import annotations

from pathlib import Path

from engine.config import load_config
from engine.state.store import StateStore
from tests.service.conftest import memory_account, store_name, write_config


def test_the_api_shows_needs_reconnect_and_a_run_now_is_paused(serve, stores, tmp_path: Path) -> None:
    left, right = stores("left"), stores("right")
    left.add({"email": "ada@example.com", "name": "Ada Lovelace"})
    config = write_config(
        tmp_path / "pairsync.yaml",
        {"crm": memory_account(store_name(left)), "billing": memory_account(store_name(right))},
        [{"name": "people", "left": "crm", "right": "billing"}],
    )
    StateStore(load_config(config).state_url).mark_needs_reconnect("billing", "HTTP 401 invalid_grant")
    service = serve(config)

    accounts = {a["account"]: a for a in service.http.get("/accounts").json()["accounts"]}
    assert accounts["crm"]["status"] == "ok" and accounts["crm"]["fix"] == ""
    assert accounts["billing"]["status"] == "needs reconnect"
    assert accounts["billing"]["fix"] == f"pairsync connect {config} billing"
    shown = service.http.get("/connections/people").json()
    assert [a["status"] for a in shown["accounts"]] == ["ok", "needs reconnect"]

    ran = service.http.post("/connections/people/run", params={"wait": "true"}).json()
    assert ran["status"] == "paused" and "pairsync connect" in ran["error"]
    assert right.live() == {}  # nothing written
