"""A revoked key or refresh token marks the account `needs reconnect` and pauses its connections:
nothing is read or written until the account is connected again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.harness import Pair
from engine.state.accounts import NEEDS_RECONNECT
from tests.reliability.helpers import PAIRSYNC, cli_env, seed_two_way


def revoke(pair: Pair, account: str) -> None:
    if account == "google":
        pair.google.oauth.refresh_token = "1//a-token-issued-after-the-user-revoked-access"
    else:
        pair.stripe.api_key = "sk_test_rolledrolledrolled0000"


@pytest.mark.parametrize("account", ["google", "stripe"])
def test_a_revoked_credential_marks_the_account_and_pauses_its_connection(tmp_path: Path, account: str) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 10)
        loaded = pair.load()
        store = pair.store(loaded)
        assert pair.run(loaded, store).status == "ok"
        revoke(pair, account)

        refused = pair.run(loaded, store)
        health = store.account_health(account)
        assert refused.status == "error"
        assert refused.error is not None and f"pairsync connect {loaded.path} {account}" in refused.error
        assert health.status == NEEDS_RECONNECT and health.fix("c.yaml") == f"pairsync connect c.yaml {account}"

        before = pair.requests()
        pair.stripe.add_record({"name": "Waiting Person", "email": "waiting@example.com"})
        paused = pair.run(loaded, store)
        assert paused.status == "paused"
        assert paused.error is not None and f"pairsync connect {loaded.path} {account}" in paused.error
        assert pair.requests() == before  # not one request to either app
        assert len(store.runs("stripe-google")) == 2  # a paused connection records no run

        assert store.mark_connected(account)  # what `pairsync connect` does once the account works again
        assert store.account_health(account).ok


def test_status_shows_the_account_and_the_command_that_fixes_it(tmp_path: Path) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        config = pair.write_config()
        loaded = pair.load()
        pair.store(loaded).mark_needs_reconnect("google", "Google token refresh failed: HTTP 400 invalid_grant")
        shown = subprocess.run(
            [PAIRSYNC, "status", str(config), "--json"], env=cli_env(pair), capture_output=True, text=True, check=True
        )
        [google] = [a for a in json.loads(shown.stdout)[0]["accounts"] if a["account"] == "google"]
        assert google["status"] == "needs reconnect"
        assert google["fix"] == f"pairsync connect {config} google"
        table = subprocess.run(
            [PAIRSYNC, "status", str(config)], env=cli_env(pair), capture_output=True, text=True, check=True
        )
        assert f"run `pairsync connect {config} google`" in table.stdout + table.stderr
        ran = subprocess.run([PAIRSYNC, "run", str(config)], env=cli_env(pair), capture_output=True, text=True)
        assert ran.returncode == 1
        assert pair.requests() == {"stripe": 0, "google": 0}


def test_connect_on_a_key_account_proves_the_key_and_clears_the_mark(tmp_path: Path) -> None:
    with Pair(tmp_path) as pair:
        config = pair.write_config()
        store = pair.store(pair.load())
        store.mark_needs_reconnect("stripe", "Invalid API Key provided")
        still_bad = {**cli_env(pair), "BENCH_STRIPE_KEY": "sk_test_stillrevokedstillrevoked00"}
        refused = subprocess.run([PAIRSYNC, "connect", str(config), "stripe"], env=still_bad,
                                 capture_output=True, text=True)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "refused its credentials" in refused.stderr and "stillrevoked" not in refused.stderr
        assert not store.account_health("stripe").ok

        fixed = subprocess.run([PAIRSYNC, "connect", str(config), "stripe"], env=cli_env(pair),
                               capture_output=True, text=True)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "its connections run again" in fixed.stdout
        assert store.account_health("stripe").ok


@pytest.mark.parametrize("write", ["update", "create"])
def test_credentials_refused_while_writing_mark_the_account_and_stop_the_run(tmp_path: Path, write: str) -> None:
    """The key is rolled after the run read both sides: its first write into Stripe is refused (401).
    That is the account's problem, not the record's: the run stops, the account needs reconnect, and once
    it is connected again the next run makes the write, once."""
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 10)
        loaded = pair.load()
        store = pair.store(loaded)
        assert pair.run(loaded, store).status == "ok"
        if write == "update":
            [contact] = [r for r in pair.google.records() if r.get("email") == "b0@example.com"]
            pair.google.update_record(contact["id"], {"familyName": "Renamed"})
            email = "b0@example.com"
        else:
            pair.google.add_record({"givenName": "New", "familyName": "Person", "email": "new@example.com"})
            email = "new@example.com"
        key = pair.stripe.api_key

        refused = pair.run(loaded, store, on_plan=lambda _plan: revoke(pair, "stripe"))
        assert (refused.status, refused.reconnect) == ("error", "stripe")
        assert refused.error is not None and f"pairsync connect {loaded.path} stripe" in refused.error
        assert "rolled" not in refused.error  # the refused key is not shown
        assert store.account_health("stripe").status == NEEDS_RECONNECT
        assert store.retries("stripe-google", "left") == []  # no record is counted as failing

        pair.stripe.api_key = key
        assert store.mark_connected("stripe")
        again = pair.run(loaded, store)
        assert again.status == "ok", again.error
        assert again.summary()[f"{write}d"]["left"] == 1
        assert [r.get("email") for r in pair.stripe.records()].count(email) == 1
