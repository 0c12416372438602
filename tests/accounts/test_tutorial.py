"""The README tutorial as written, against a Stripe implementation without the Events API and a Google
sandbox: connect (a plain HTTP client follows the printed URL), check, run. Only the hosts change."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import yaml

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.sandbox import SandboxServer
from engine.state.crypto import KEY_VARIABLE
from tests.reliability.helpers import PAIRSYNC

README = Path(__file__).resolve().parents[2] / "README.md"
TUTORIAL = re.compile(r"## Tutorial.*?```yaml\n(.*?)```", re.DOTALL)


def tutorial_config(folder: Path, stripe: SandboxServer, google: SandboxServer) -> Path:
    match = TUTORIAL.search(README.read_text())
    assert match is not None
    data = yaml.safe_load(match.group(1))
    data["accounts"]["stripe"]["settings"]["base_url"] = stripe.base_url
    hosts = {k: v for k, v in google.settings().items() if k in ("base_url", "token_url", "authorization_url")}
    data["accounts"]["google"]["settings"].update(hosts)
    path = folder / "pairsync.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_tutorial_works_against_a_stripe_without_events(tmp_path: Path) -> None:
    stripe, google = StripeSandbox(seed=12), GoogleContactsSandbox()
    stripe.permissions.missing_apis.add("/v1/events")
    with SandboxServer(stripe) as stripe_server, SandboxServer(google) as google_server:
        config = tutorial_config(tmp_path, stripe_server, google_server)
        env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
        env.update(STRIPE_API_KEY=stripe.api_key, GOOGLE_CLIENT_ID=google.oauth.client_id,
                   GOOGLE_CLIENT_SECRET=google.oauth.client_secret)

        connect = subprocess.Popen([PAIRSYNC, "connect", str(config), "google", "--no-browser"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert connect.stdout is not None
        httpx.get(connect.stdout.readline().strip(), follow_redirects=True)
        out, err = connect.communicate(timeout=60)
        assert connect.returncode == 0, out + err

        check = subprocess.run([PAIRSYNC, "check", str(config), "--json"], env=env, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        [stripe_report] = [a for a in json.loads(check.stdout)["accounts"] if a["account"] == "stripe"]
        events = next(c for c in stripe_report["checks"] if c["name"] == "Events read")
        assert events["ok"] is False and "every run lists all customers" in events["cost"]

        for _ in range(2):
            ran = subprocess.run([PAIRSYNC, "run", str(config), "--json"], env=env, capture_output=True, text=True)
            assert ran.returncode == 0, ran.stdout + ran.stderr
            [summary] = json.loads(ran.stdout)
            assert summary["status"] == "ok" and len(summary["notes"]) == 1
        subscribed = {r["email"] for r in stripe.records() if r.get("has_subscriptions")}
        synced = {r["email"] for r in google.records()}
        assert subscribed and synced == subscribed
        assert all("Stripe customer" in google.tags_of(r["id"]) for r in google.records())
