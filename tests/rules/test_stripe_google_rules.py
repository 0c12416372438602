"""Rules round 2 from Stripe (sandbox) into Google Contacts (sandbox) over loopback: conditional THEN actions,
relative dates and the user's own `transforms.py`.

The run's clock is an input: a test moves it by passing `now`, never by waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.stripe.sandbox import StripeSandbox
from connectors.stripe.sandbox.seeding import catalogue
from engine.config import load_config
from engine.config.errors import ConfigError
from engine.planner.model import Tag
from engine.runner import Report, plan_connection, run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore

STRIPE_FAST = {"requests_per_second": 2000.0, "max_retry_wait_seconds": 0.05, "timeout_seconds": 5.0}
GOOGLE_FAST = {"retry_attempts": 4, "max_retry_wait_seconds": 0.2, "timeout_seconds": 5.0}


def renewal_rule(days: int) -> dict[str, Any]:
    return {"add_tag": "Renewal soon", "if": {"field": "renewal_date", "op": "within_next_days", "value": days}}


CHURNED = {"add_tag": "Churned", "if": {"field": "lifecycle_stage", "op": "equals", "value": "churned"}}


class StripeToGoogle:
    """One connection `c`, Stripe (left) into Google Contacts (right), both sandboxes on loopback."""

    def __init__(
        self, tmp_path: Path, stripe: SandboxServer, google: SandboxServer, then: list[Any], **extra: Any
    ) -> None:
        config: dict[str, Any] = {
            "plugins": list(extra.pop("files", {})),
            "accounts": {
                "stripe": {"connector": "stripe", "settings": {**stripe.settings(), **STRIPE_FAST}},
                "google": {"connector": "google_contacts", "settings": {**google.settings(), **GOOGLE_FAST}},
            },
            "connections": [
                {"name": "c", "left": "stripe", "right": "google", "direction": "left-to-right",
                 "then": {"right": then}, **extra}
            ],
        }
        path = tmp_path / "pairsync.yaml"
        path.write_text(yaml.safe_dump(config))
        self.loaded = load_config(path)
        self.store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
        self.google: GoogleContactsSandbox = google.sandbox  # type: ignore[assignment]

    def run(self, now: datetime) -> Report:
        report = asyncio.run(run_connection(self.loaded, self.loaded.config.connection("c"), self.store, now=now))
        assert report.status == "ok", report.summary()
        return report

    def plan(self, now: datetime) -> Report:
        return asyncio.run(plan_connection(self.loaded, self.loaded.config.connection("c"), self.store, now=now))

    def contact_tags(self, email: str) -> set[str]:
        [contact] = [r for r in self.google.records() if r.get("email") == email]
        return self.google.tags_of(contact["id"])


@pytest.fixture
def stripe() -> Iterator[SandboxServer]:
    with SandboxServer(StripeSandbox()) as server:
        yield server


@pytest.fixture
def google() -> Iterator[SandboxServer]:
    with SandboxServer(GoogleContactsSandbox()) as server:
        yield server


@pytest.fixture
def make_sync(tmp_path: Path, stripe: SandboxServer, google: SandboxServer) -> Iterator[Any]:
    made: list[StripeToGoogle] = []

    def make(then: list[Any], files: dict[str, str] | None = None, **extra: Any) -> StripeToGoogle:
        for name, source in (files or {}).items():
            (tmp_path / name).write_text(source)
        made.append(StripeToGoogle(tmp_path, stripe, google, then, files=files or {}, **extra))
        return made[-1]

    yield make
    for sync in made:
        sync.store.close()


def subscribe_ending_in_ten_days(stripe: SandboxServer, email: str) -> str:
    """A customer on a 10-day trial: its period (the renewal date) ends 10 days from now."""
    sandbox: StripeSandbox = stripe.sandbox  # type: ignore[assignment]
    _starter, pro_monthly, _yearly, _team = catalogue(sandbox.store)
    customer = sandbox.add_record({"email": email, "name": "Ada Lovelace"})
    return sandbox.subscribe(customer, pro_monthly, trial_days=10)


@pytest.mark.parametrize(("days", "tagged"), [(14, True), (7, False)])
def test_a_renewal_in_ten_days_tags_the_contact_under_a_14_day_rule_only(
    stripe: SandboxServer, make_sync: Any, days: int, tagged: bool
) -> None:
    subscribe_ending_in_ten_days(stripe, "ada@x.io")
    sync = make_sync([renewal_rule(days)])
    sync.run(datetime.now(UTC))
    assert ("Renewal soon" in sync.contact_tags("ada@x.io")) is tagged


def test_the_clock_passing_the_renewal_takes_the_tag_off_with_no_change_in_stripe(
    stripe: SandboxServer, make_sync: Any
) -> None:
    subscribe_ending_in_ten_days(stripe, "ada@x.io")
    sync = make_sync([renewal_rule(14)])
    today = datetime.now(UTC)
    sync.run(today)
    assert sync.contact_tags("ada@x.io") == {"Renewal soon"}
    quiet = sync.run(today)
    assert quiet.plan.operations == [], "nothing changed: nothing is sent again"
    later = today + timedelta(days=11)
    planned = sync.plan(later)
    [untag] = planned.plan.of(Tag)
    assert not untag.add
    assert "the condition no longer holds (renewal_date within_next_days 14 fails" in untag.reason
    report = sync.run(later)
    assert report.summary()["untagged"] == {"left": 0, "right": 1}
    assert report.summary()["updated"] == {"left": 0, "right": 0}
    assert sync.contact_tags("ada@x.io") == set()
    assert report.requests["left"] == quiet.requests["left"], "the stored records are checked: no extra Stripe reads"
    assert sync.run(later).plan.operations == []


def test_cancelling_the_subscription_adds_churned(stripe: SandboxServer, make_sync: Any) -> None:
    subscription = subscribe_ending_in_ten_days(stripe, "ada@x.io")
    sync = make_sync([renewal_rule(14), CHURNED])
    today = datetime.now(UTC)
    sync.run(today)
    assert sync.contact_tags("ada@x.io") == {"Renewal soon"}
    stripe.sandbox.cancel(subscription)  # type: ignore[attr-defined]
    report = sync.run(today)
    assert sync.contact_tags("ada@x.io") == {"Churned"}
    reasons = sorted(op.reason for op in report.plan.of(Tag))
    assert reasons[0] == "THEN add_tag 'Churned' if lifecycle_stage equals 'churned'"
    assert reasons[1].startswith("THEN add_tag 'Renewal soon' if renewal_date within_next_days 14: the condition")


SHOUT = """\
from engine import hookimpl


@hookimpl
def register_transforms(register):
    register("shout", lambda value: value.upper() if isinstance(value, str) else value)
"""

TEAM = {"defaults": True, "fields": [{"left": "metadata.team", "right": "userDefined.team", "transform": "shout"}]}


def test_a_transforms_file_beside_the_config_upper_cases_a_mapped_field(
    stripe: SandboxServer, make_sync: Any
) -> None:
    stripe.sandbox.add_record({"email": "ada@x.io", "metadata.team": "growth"})  # type: ignore[attr-defined]
    sync = make_sync([], files={"transforms.py": SHOUT}, mapping=TEAM)
    sync.run(datetime.now(UTC))
    [contact] = sync.google.records()
    assert contact["userDefined.team"] == "GROWTH"


def test_a_broken_transforms_file_is_reported_with_its_line(make_sync: Any, tmp_path: Path) -> None:
    broken = SHOUT.replace("isinstance(value, str)", "isinstance(value, str")
    with pytest.raises(ConfigError) as raised:
        make_sync([], files={"transforms.py": broken}, mapping=TEAM)
    [problem] = raised.value.problems
    assert (problem.file, problem.line) == (str(tmp_path / "transforms.py"), 6)
    assert problem.message.startswith("SyntaxError: ")
    assert "listed under `plugins` in pairsync.yaml" in problem.message
