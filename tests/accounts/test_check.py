"""`pairsync check` proves each account's credentials and permissions against the apps, with the cost of
each missing one and how to fix it; exit 0 when every connection can run, 1 otherwise."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.harness import Pair
from connectors.quickbooks.sandbox import QuickBooksSandbox
from engine.sandbox import SandboxServer
from tests.reliability.helpers import PAIRSYNC, cli_env


def check(pair: Pair, config: Path, *extra: str, **env: str) -> tuple[int, Any, str]:
    done = subprocess.run([PAIRSYNC, "check", str(config), *extra], env={**cli_env(pair), **env},
                          capture_output=True, text=True, timeout=120)
    data = json.loads(done.stdout) if "--json" in extra and done.stdout.strip() else None
    return done.returncode, data, done.stdout + done.stderr


def rows(data: dict[str, Any], account: str) -> dict[str, dict[str, Any]]:
    [found] = [a for a in data["accounts"] if a["account"] == account]
    return {c["name"]: c for c in found["checks"]}


def test_every_permission_ok(tmp_path: Path) -> None:
    with Pair(tmp_path) as pair:
        code, data, said = check(pair, pair.write_config(), "--json")
        assert code == 0, said
        assert data["ok"] is True and data["connections"] == {"stripe-google": True}
        assert set(rows(data, "stripe")) == {
            "credentials", "Customers read", "Customers write", "Subscriptions read", "Products read", "Prices read",
            "Events read",
        }
        assert all(c["ok"] for c in rows(data, "stripe").values())
        assert set(rows(data, "google")) == {
            "credentials", "contacts read", "scope https://www.googleapis.com/auth/contacts",
            "contact groups (labels) read",
        }
        assert pair.stripe.records() == []  # proving write access wrote nothing


def test_a_missing_optional_permission_is_reported_with_its_cost_and_the_connection_still_runs(
    tmp_path: Path,
) -> None:
    with Pair(tmp_path) as pair:
        pair.stripe.permissions.deny("event")
        config = pair.write_config()
        code, data, said = check(pair, config, "--json")
        assert code == 0, said
        events = rows(data, "stripe")["Events read"]
        assert events["ok"] is False and events["required"] is False
        assert events["cost"] == "every run lists all customers (no incremental reads)"
        assert "Events → Read" in events["fix"]
        code, _data, table = check(pair, config)
        assert code == 0 and "missing (optional)" in table and "every run lists all customers" in table


@pytest.mark.parametrize(
    ("deny", "name", "cost"),
    [
        ("customer-write", "Customers write", "no record can be written into Stripe"),
        ("subscription", "Subscriptions read", "no derived fields (plans, mrr, ...)"),
        ("customer", "Customers read", "nothing syncs"),
    ],
)
def test_a_missing_required_permission_fails_the_check(tmp_path: Path, deny: str, name: str, cost: str) -> None:
    with Pair(tmp_path) as pair:
        resource, _, level = deny.partition("-")
        pair.stripe.permissions.deny(resource, level or "read")
        code, data, said = check(pair, pair.write_config(), "--json")
        assert code == 1, said
        row = rows(data, "stripe")[name]
        assert row["ok"] is False and row["required"] is True and row["cost"] == cost
        assert data["connections"] == {"stripe-google": False}


def test_a_revoked_token_and_a_marked_account_show_the_command_that_fixes_them(tmp_path: Path) -> None:
    with Pair(tmp_path) as pair:
        config = pair.write_config()
        pair.store(pair.load()).mark_needs_reconnect("stripe", "HTTP 401")
        code, data, said = check(pair, config, "--json", BENCH_GOOGLE_REFRESH="1//a-token-the-user-revoked")
        assert code == 1, said
        credentials = rows(data, "google")["credentials"]
        assert credentials["ok"] is False and f"pairsync connect {config} google" in credentials["fix"]
        [stripe] = [a for a in data["accounts"] if a["account"] == "stripe"]
        assert stripe["health"]["fix"] == f"pairsync connect {config} stripe" and stripe["can_run"] is False


@pytest.mark.parametrize("cdc", [True, False])
def test_quickbooks_checks_the_company_and_cdc(tmp_path: Path, cdc: bool) -> None:
    sandbox = QuickBooksSandbox()
    if not cdc:
        sandbox.missing_apis.add("cdc")
    with SandboxServer(sandbox) as server:
        config = tmp_path / "pairsync.yaml"
        config.write_text(yaml.safe_dump({
            "accounts": {"qb": {"connector": "quickbooks", "settings": server.settings()},
                         "mem": {"connector": "memory", "settings": {"store": f"check-{tmp_path.name}"}}},
            "connections": [{"name": "people", "left": "mem", "right": "qb", "direction": "left-to-right"}],
        }))
        done = subprocess.run([PAIRSYNC, "check", str(config), "--json"], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        checks = {c["name"]: c["ok"] for c in json.loads(done.stdout)["accounts"][1]["checks"]}
        assert checks == {"credentials": True, "accounting scope and company": True, "Change Data Capture": cdc}
