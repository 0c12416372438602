"""examples/mailchimp-google-demo.yaml runs as written against the two sandboxes it names."""

from __future__ import annotations

import asyncio
from pathlib import Path

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.config import load_config
from engine.runner import run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mailchimp-google-demo.yaml"


def test_the_demo_example_syncs_both_ways_then_writes_nothing(tmp_path: Path) -> None:
    mailchimp, google = MailchimpSandbox(seed=4, rng_seed=1), GoogleContactsSandbox(seed=3, rng_seed=2)
    with SandboxServer(mailchimp) as mc, SandboxServer(google) as gc:
        text = EXAMPLE.read_text().replace("127.0.0.1:8801", f"127.0.0.1:{mc.port}")
        config = tmp_path / "demo.yaml"
        config.write_text(text.replace("127.0.0.1:8802", f"127.0.0.1:{gc.port}"))
        loaded = load_config(config)
        store = StateStore(loaded.state_url)
        connection = loaded.config.connections[0]
        first = asyncio.run(run_connection(loaded, connection, store)).summary()
        assert first["status"] == "ok" and first["created"] == {"left": 3, "right": 4}, first
        again = asyncio.run(run_connection(loaded, connection, store)).summary()
        assert all(again[k] == {"left": 0, "right": 0} for k in ("created", "updated", "tagged")), again
    emails = {str(r["email"]).lower() for r in mailchimp.records()}
    assert emails == {str(r["email"]).lower() for r in google.records()} and len(emails) == 7
