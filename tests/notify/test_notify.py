"""Notifications: which events a run raises, delivery to a webhook (signed, retried), Slack and email,
and at most one message per connection and event kind per period."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.harness import Pair
from engine.config import load_config
from engine.notify.dispatch import deliver
from engine.notify.events import Event, RunFacts, run_events
from engine.notify.models import EmailTarget, EventKind, SlackTarget, WebhookTarget
from engine.state.store import StateStore
from tests.notify.conftest import SMTP_PASSWORD, SMTP_USER
from tests.reliability.helpers import seed_two_way

SECRET = "notify-signing-secret-for-tests"


def facts(status: str, previous: str | None = None, reconnect: str | None = None,
          failing: dict[str, int] | None = None) -> RunFacts:
    return RunFacts("people", status, 7, "boom" if status == "error" else None, previous, reconnect, failing or {})


@pytest.mark.parametrize(
    ("run", "kinds"),
    [
        (facts("ok"), []),
        (facts("ok", previous="ok"), []),
        (facts("error"), [EventKind.RUN_FAILED]),
        (facts("error", reconnect="google"), [EventKind.NEEDS_RECONNECT]),
        (facts("blocked"), [EventKind.BREAKER_TRIPPED]),
        (facts("failed", failing={"left L1": 3, "left L2": 4}), [EventKind.RECORDS_FAILING]),
        (facts("failed", failing={"left L1": 3}), []),
        (facts("ok", previous="error"), [EventKind.RECOVERED]),
        (facts("ok", previous="blocked"), [EventKind.RECOVERED]),
    ],
)
def test_which_events_a_run_raises(run: RunFacts, kinds: list[EventKind]) -> None:
    assert [e.kind for e in run_events(run, failing_runs=3)] == kinds


def test_records_failing_names_the_records() -> None:
    [event] = run_events(facts("failed", failing={"left L2": 5, "right R9": 4, "left L1": 1}), failing_runs=3)
    assert event.detail["records"] == ["left L2", "right R9"]


def _store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


EVENT = Event(EventKind.RUN_FAILED, "people", "people: run failed: boom", {"run_id": 1})


def test_a_webhook_is_signed_with_hmac_sha256(receiver, tmp_path: Path) -> None:
    target = WebhookTarget(kind="webhook", url=receiver.url, secret=SECRET)
    assert asyncio.run(deliver([target], _store(tmp_path), [EVENT])) == []
    [(headers, body)] = receiver.received
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-pairsync-signature"] == expected
    assert json.loads(body) == {"event": "run_failed", "connection": "people", "text": "people: run failed: boom",
                                "run_id": 1}


def test_a_webhook_is_retried_with_backoff_until_taken(receiver, tmp_path: Path) -> None:
    receiver.failures = 2
    target = WebhookTarget(kind="webhook", url=receiver.url, attempts=4, backoff_seconds=0.01)
    assert asyncio.run(deliver([target], _store(tmp_path), [EVENT])) == []
    assert receiver.attempts == 3 and len(receiver.received) == 1


@pytest.mark.parametrize(("status", "attempts"), [(400, 1), (503, 3)])
def test_a_webhook_that_keeps_refusing_becomes_a_note(receiver, tmp_path: Path, status: int, attempts: int) -> None:
    receiver.failures, receiver.fail_with = 10, status
    target = WebhookTarget(kind="webhook", url=receiver.url, attempts=3, backoff_seconds=0.01)
    [note] = asyncio.run(deliver([target], _store(tmp_path), [EVENT]))
    assert f"HTTP {status}" in note and "run_failed not delivered" in note
    assert receiver.attempts == attempts  # a 4xx is not retried


def test_slack_gets_its_incoming_webhook_format(receiver, tmp_path: Path) -> None:
    target = SlackTarget(kind="slack", url=receiver.url)
    asyncio.run(deliver([target], _store(tmp_path), [EVENT]))
    [(_headers, body)] = receiver.received
    assert json.loads(body) == {"text": ":warning: pairsync people: run failed: boom"}


def test_email_over_starttls_with_login(mailbox, tmp_path: Path) -> None:
    target = EmailTarget.model_validate({
        "kind": "email", "host": "127.0.0.1", "port": mailbox.port, "ca_file": mailbox.ca_file,
        "username": SMTP_USER, "password": SMTP_PASSWORD, "from": "pairsync@example.com", "to": ["ops@example.com"],
    })
    assert asyncio.run(deliver([target], _store(tmp_path), [EVENT])) == []
    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == ["ops@example.com"]
    text = envelope.content.decode() if isinstance(envelope.content, bytes) else str(envelope.content)
    assert "Subject: pairsync: people: run failed: boom" in text


def test_at_most_one_message_per_connection_and_kind_per_period(receiver, tmp_path: Path) -> None:
    store, target = _store(tmp_path), WebhookTarget(kind="webhook", url=receiver.url, period="1h")
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    other_kind = Event(EventKind.BREAKER_TRIPPED, "people", "people: breaker", {})
    other_connection = Event(EventKind.RUN_FAILED, "orders", "orders: run failed", {})
    for minutes, events in [(0, [EVENT]), (10, [EVENT, other_kind, other_connection]), (59, [EVENT]),
                            (61, [EVENT])]:
        asyncio.run(deliver([target], store, events, now=start + timedelta(minutes=minutes)))
    sent = [(json.loads(body)["connection"], json.loads(body)["event"]) for _h, body in receiver.received]
    assert sent == [("people", "run_failed"), ("people", "breaker_tripped"), ("orders", "run_failed"),
                    ("people", "run_failed")]


def _config_with_notify(pair: Pair, notify: list[dict[str, Any]]) -> Path:
    data = {**pair.config_data(), "notify": notify}
    path = pair.folder / "pairsync.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_revoked_token_pauses_the_connection_and_sends_one_notification(receiver, tmp_path: Path) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 6)
        config = _config_with_notify(pair, [{"kind": "webhook", "url": receiver.url, "secret": "${HOOK_SECRET}"}])
        loaded = load_config(config, environ={**os.environ, **pair.secrets(), "HOOK_SECRET": SECRET})
        store = StateStore(loaded.state_url)
        assert pair.run(loaded, store).status == "ok"
        pair.google.oauth.refresh_token = "1//issued-after-the-user-revoked-access"
        reports = [pair.run(loaded, store) for _ in range(3)]
        assert [r.status for r in reports] == ["error", "paused", "paused"]
        [(headers, body)] = receiver.received
        message = json.loads(body)
        assert message["event"] == "needs_reconnect" and message["account"] == "google"
        assert headers["x-pairsync-signature"].startswith("sha256=")
        assert pair.google.oauth.refresh_token not in body.decode()


def test_a_run_that_works_again_sends_recovered(receiver, tmp_path: Path) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 4)
        config = _config_with_notify(pair, [{"kind": "slack", "url": receiver.url}])
        loaded = load_config(config, environ={**os.environ, **pair.secrets()})
        store = StateStore(loaded.state_url)
        pair.stripe.permissions.deny("customer")
        assert pair.run(loaded, store).status == "error"
        pair.stripe.permissions.denied.clear()
        assert pair.run(loaded, store).status == "ok"
        texts = [json.loads(body)["text"] for _h, body in receiver.received]
        assert [t.split()[0] for t in texts] == [":warning:", ":white_check_mark:"]
        assert "run failed" in texts[0] and "runs succeed again" in texts[1]


def test_a_record_failing_for_more_than_n_runs_is_reported_once(receiver, tmp_path: Path) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 4)
        pair.stripe.add_record({"name": "Refused Person", "email": "refused@example.com"})
        pair.google.fail_emails = {"refused@example.com"}
        config = _config_with_notify(pair, [{"kind": "webhook", "url": receiver.url, "failing_runs": 2,
                                             "events": ["records_failing"]}])
        loaded = load_config(config, environ={**os.environ, **pair.secrets()})
        store = StateStore(loaded.state_url)
        statuses = [pair.run(loaded, store).status for _ in range(4)]
        assert statuses == ["failed"] * 4
        [failure] = store.failures("stripe-google")
        assert failure["attempts"] == 4
        [(_headers, body)] = receiver.received  # the third run crossed the line; the fourth is within the period
        message = json.loads(body)
        assert message["event"] == "records_failing" and len(message["records"]) == 1


def test_connect_clearing_a_mark_sends_recovered(receiver, tmp_path: Path) -> None:
    import subprocess

    from tests.reliability.helpers import PAIRSYNC, cli_env

    with Pair(tmp_path) as pair:
        config = _config_with_notify(pair, [{"kind": "webhook", "url": receiver.url}])
        StateStore(load_config(config, environ={**os.environ, **pair.secrets()}).state_url).mark_needs_reconnect(
            "stripe", "HTTP 401"
        )
        done = subprocess.run([PAIRSYNC, "connect", str(config), "stripe"], env=cli_env(pair), capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        [(_headers, body)] = receiver.received
        assert json.loads(body) == {"event": "recovered", "connection": "stripe-google", "account": "stripe",
                                    "text": "stripe-google: account stripe is connected again; runs resume"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/nothing-listens", "not a url at all"])
def test_an_unreachable_target_is_a_note_never_an_error(tmp_path: Path, url: str) -> None:
    target = WebhookTarget(kind="webhook", url=url, attempts=2, backoff_seconds=0.01)
    [note] = asyncio.run(deliver([target], _store(tmp_path), [EVENT]))
    assert "run_failed not delivered" in note
