"""Rules against the Stripe sandbox over loopback: plan conditions, metadata both ways, id_field links."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.stripe.conditions import subscribed_to
from connectors.stripe.sandbox import StripeSandbox
from connectors.stripe.sandbox.seeding import catalogue
from engine.config import load_config
from engine.runner import Report, run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore

from .conftest import skips

FAST = {"requests_per_second": 2000.0, "max_retry_wait_seconds": 0.05, "timeout_seconds": 5.0}
PLANS = [
    {"price": "price_1", "product": "prod_pro", "product_name": "Pro"},
    {"price": "price_2", "product": "prod_team", "product_name": "Team"},
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("price_1", True),
        ("prod_team", True),
        ("pro", True),
        ("Pro Plus", False),
        (["Starter", "Team"], True),
        (["Starter"], False),
        ("PRICE_1", False),
    ],
)
def test_subscribed_to_matches_price_product_or_product_name(value: Any, expected: bool) -> None:
    assert subscribed_to(PLANS, value) is expected


@pytest.mark.parametrize("plans", [None, [], "Pro"])
def test_no_plans_is_subscribed_to_nothing(plans: Any) -> None:
    assert subscribed_to(plans, "Pro") is False


class StripeSync:
    """Stripe (left, sandbox over loopback) and a memory account (right), one connection `c`."""

    def __init__(self, tmp_path: Path, server: SandboxServer, connection: dict[str, Any]) -> None:
        self.tmp_path = tmp_path
        self.memory_name = f"stripe-rules-{tmp_path.name}"
        self.memory = MemoryStore.named(self.memory_name)
        config = {
            "accounts": {
                "stripe": {"connector": "stripe", "settings": {**server.settings(), **FAST}},
                "mem": {"connector": "memory", "settings": {"store": self.memory_name}},
            },
            "connections": [{"name": "c", "left": "stripe", "right": "mem", **connection}],
        }
        path = tmp_path / "pairsync.yaml"
        path.write_text(yaml.safe_dump(config))
        self.loaded = load_config(path)
        self.store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")

    def run(self) -> Report:
        report = asyncio.run(run_connection(self.loaded, self.loaded.config.connection("c"), self.store))
        assert report.status == "ok", report.summary()
        return report

    def lose_state(self) -> None:
        self.store.close()
        (self.tmp_path / "state.db").unlink()
        self.store = StateStore(f"sqlite:///{self.tmp_path / 'state.db'}")

    def close(self) -> None:
        self.store.close()
        MemoryStore.forget(self.memory_name)


@pytest.fixture
def sandbox() -> StripeSandbox:
    return StripeSandbox()


@pytest.fixture
def server(sandbox: StripeSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def make_sync(tmp_path: Path, server: SandboxServer) -> Iterator[Any]:
    made: list[StripeSync] = []

    def make(connection: dict[str, Any]) -> StripeSync:
        made.append(StripeSync(tmp_path, server, connection))
        return made[-1]

    yield make
    for sync in made:
        sync.close()


def emails(store: MemoryStore) -> list[str]:
    return sorted(r.fields["email"] for r in store.live().values())


def test_plan_and_subscription_conditions_choose_the_customers_that_sync(
    sandbox: StripeSandbox, make_sync: Any
) -> None:
    starter, pro_monthly, _pro_yearly, team = catalogue(sandbox.store)
    pro = sandbox.add_record({"email": "pro@x.io", "name": "Pro Customer"})
    both = sandbox.add_record({"email": "both@x.io"})
    starter_only = sandbox.add_record({"email": "starter@x.io"})
    none = sandbox.add_record({"email": "none@x.io"})
    sandbox.subscribe(pro, pro_monthly)
    sandbox.subscribe(both, starter)
    sandbox.subscribe(both, team)
    sandbox.subscribe(starter_only, starter)
    condition = {
        "all": [
            {"field": "has_subscriptions", "op": "equals", "value": True},
            {
                "any": [
                    {"field": "plans", "op": "subscribed_to", "value": "pro"},
                    {"field": "plans", "op": "subscribed_to", "value": team},
                ]
            },
        ]
    }
    sync = make_sync({"direction": "left-to-right", "if": {"left": condition}})
    report = sync.run()
    assert emails(sync.memory) == ["both@x.io", "pro@x.io"]
    reasons = skips(report)
    assert reasons[none] == "IF left: has_subscriptions equals True fails (has_subscriptions is False)"
    assert reasons[starter_only].startswith("IF left: none of (plans subscribed_to 'pro' fails")


def test_not_subscribed_to_leaves_out_the_subscribers(sandbox: StripeSandbox, make_sync: Any) -> None:
    _starter, pro_monthly, _pro_yearly, _team = catalogue(sandbox.store)
    pro = sandbox.add_record({"email": "pro@x.io"})
    sandbox.add_record({"email": "free@x.io"})
    sandbox.subscribe(pro, pro_monthly)
    sync = make_sync(
        {"direction": "left-to-right", "if": {"left": {"field": "plans", "op": "not_subscribed_to", "value": "Pro"}}}
    )
    sync.run()
    assert emails(sync.memory) == ["free@x.io"]


def test_stripe_metadata_maps_to_a_custom_field_both_ways(sandbox: StripeSandbox, make_sync: Any) -> None:
    fields = [{"left": "metadata.product", "right": "custom.product"}]
    sync = make_sync(
        {
            "direction": "two-way",
            "mapping": {"defaults": False, "fields": [{"left": "email", "right": "email"}, *fields]},
        }
    )
    customer = sandbox.add_record({"email": "a@x.io", "metadata.product": "widgets"})
    sync.run()
    [(memory_id, stored)] = sync.memory.live().items()
    assert stored.fields["custom.product"] == "widgets"
    sync.memory.edit(memory_id, {"custom.product": "gadgets"})
    sync.run()
    [stripe_customer] = [r for r in sandbox.records() if r["id"] == customer]
    assert stripe_customer["metadata.product"] == "gadgets"


def test_id_field_in_stripe_metadata_rebuilds_links_after_the_state_is_lost(
    sandbox: StripeSandbox, make_sync: Any
) -> None:
    sync = make_sync({"direction": "two-way", "id_field": "metadata.memory_id"})
    for n in range(3):
        sandbox.add_record({"email": f"p{n}@x.io", "name": f"Person {n}"})
    sync.run()
    sync.run()
    by_email = {r.fields["email"]: rid for rid, r in sync.memory.live().items()}
    assert {r["email"]: r.get("metadata.memory_id") for r in sandbox.records()} == by_email
    for rid in by_email.values():
        sync.memory.edit(rid, {"email": f"moved-{rid}@x.io"})
    sync.lose_state()
    report = sync.run()
    assert report.summary()["created"] == {"left": 0, "right": 0}
    assert report.summary()["linked"] == {"total": 3, "new": 3}
    assert len(sandbox.records()) == 3
    assert len(sync.memory.live()) == 3
