"""The cursor saved after a run's creates skips them, and nothing else.

Each case reads the audience (the run's read), writes through the connector, and asks for the cursor to save;
the next incremental read from that cursor is what the next run would see, counted in the sandbox's own log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connectors.mailchimp import MailchimpConnector
from connectors.mailchimp.sandbox import MailchimpSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.config import load_config
from engine.records import Page, WriteRequest, WriteResult
from engine.runner import Report, run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore
from tests.mailchimp.conftest import FAST, drive

Make = Callable[..., MailchimpConnector]
Step = Callable[[MailchimpConnector, MailchimpSandbox], Awaitable[Any]]
PAGE = 50  # small pages: a cursor that did not move would leave the next read many pages of own creates


def creates(start: int, count: int) -> list[WriteRequest]:
    return [WriteRequest(key=f"k{n}", id=None, fields={"email": f"new{n}@example.com", "FNAME": f"New{n}"})
            for n in range(start, start + count)]


async def read(connector: MailchimpConnector, since: Any = None) -> list[Page]:
    return [page async for page in connector.list(since)]


def listings(sandbox: MailchimpSandbox, since: int = 0) -> int:
    return sum(1 for e in sandbox.state.log[since:] if e.method == "GET" and e.path.endswith("/members"))


def run(sandbox: MailchimpSandbox, make: Make, *steps: Step) -> tuple[Any, Any, list[Page], int]:
    """Read, write (each step), then the cursor to save, what the next run reads from it, and in how many
    listing requests."""
    sandbox.seed(3)
    sandbox.backdate(10)  # a quiet audience: nothing changed in the second the read's cursor overlaps

    async def body(connector: MailchimpConnector) -> tuple[Any, Any, list[Page], int]:
        cursor = (await read(connector))[-1].cursor
        for step in steps:
            await step(connector, sandbox)
        saved = await connector.cursor_after_writes(cursor)
        next_run = make(page_size=PAGE)
        before = len(sandbox.state.log)
        try:
            return cursor, saved, await read(next_run, saved), listings(sandbox, before)
        finally:
            await next_run.aclose()

    return drive(make(page_size=PAGE), body)


def write(start: int, count: int, per_call: int = 500) -> Step:
    async def step(connector: MailchimpConnector, _: MailchimpSandbox) -> list[WriteResult]:
        results: list[WriteResult] = []
        for first in range(start, start + count, per_call):
            results += await connector.upsert(creates(first, min(per_call, start + count - first)))
        assert all(r.error is None for r in results)
        return results

    return step


def outside(change: Callable[[MailchimpSandbox], object]) -> Step:
    async def step(_: MailchimpConnector, sandbox: MailchimpSandbox) -> None:
        change(sandbox)

    return step


def ids(pages: list[Page]) -> set[str]:
    return {r.id for page in pages for r in page.records}


def emails(pages: list[Page]) -> set[str]:
    return {str(r.fields.get("email")) for page in pages for r in page.records}


def test_the_cursor_saved_after_creates_skips_them(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    cursor, saved, after, requests = run(sandbox, make_connector, write(0, 999), write(999, 1, per_call=1))
    assert saved != cursor
    assert ids(after) == set()
    assert requests == 2, "the changed members and the archived ones: one request each, not 20 pages"
    assert len(sandbox.records()) == 1003


def test_without_creates_the_read_cursor_is_kept_and_nothing_is_asked(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    before = len(sandbox.state.log)
    cursor, saved, _, _ = run(sandbox, make_connector)
    assert saved == cursor
    assert [e.path for e in sandbox.state.log[before:]].count("/ping") == 0


def first_seeded(sandbox: MailchimpSandbox) -> str:
    return next(str(r["id"]) for r in sandbox.records() if not str(r["email"]).startswith("new"))


def edit_first(sandbox: MailchimpSandbox) -> None:
    sandbox.update_record(first_seeded(sandbox), {"LNAME": "Edited"})


def archive_first(sandbox: MailchimpSandbox) -> None:
    sandbox.delete_record(first_seeded(sandbox))


def unsubscribe_first(sandbox: MailchimpSandbox) -> None:
    sandbox.unsubscribe(first_seeded(sandbox))


def add_one(sandbox: MailchimpSandbox) -> None:
    sandbox.add_record({"email": "someone@example.com", "FNAME": "Someone"})


def edit_own(sandbox: MailchimpSandbox) -> None:
    own = next(r for r in sandbox.records() if str(r["email"]).startswith("new"))
    sandbox.update_record(str(own["id"]), {"LNAME": "Edited"})


def archive_own(sandbox: MailchimpSandbox) -> None:
    own = next(r for r in sandbox.records() if str(r["email"]).startswith("new"))
    sandbox.delete_record(str(own["id"]))


async def update_one(connector: MailchimpConnector, sandbox: MailchimpSandbox) -> None:
    [result] = await connector.upsert([WriteRequest(key="u", id=first_seeded(sandbox), fields={"LNAME": "Ours"})])
    assert result.error is None


async def tag_one(connector: MailchimpConnector, sandbox: MailchimpSandbox) -> None:
    await connector.tag(first_seeded(sandbox), "Customers")


async def create_existing(connector: MailchimpConnector, sandbox: MailchimpSandbox) -> None:
    """An address someone added after the read: the batch finds it and the PUT updates their member."""
    sandbox.add_record({"email": "raced@example.com", "LNAME": "Theirs"})
    [result] = await connector.upsert([WriteRequest(key="r", id=None, fields={"email": "raced@example.com"})])
    assert result.error is None


@pytest.mark.parametrize(
    ("why", "middle"),
    [
        ("someone edits a member", outside(edit_first)),
        ("someone archives a member (a deletion)", outside(archive_first)),
        ("a member unsubscribes", outside(unsubscribe_first)),
        ("someone adds a member", outside(add_one)),
        ("someone edits a member the run created", outside(edit_own)),
        ("someone archives a member the run created", outside(archive_own)),
        ("the run updates a member (merged into whatever it holds now)", update_one),
        ("the run tags a member", tag_one),
        ("the run's create finds an address someone added meanwhile", create_existing),
    ],
)
def test_any_other_change_keeps_the_read_cursor(
    sandbox: MailchimpSandbox, make_connector: Make, why: str, middle: Step
) -> None:
    cursor, saved, after, _ = run(sandbox, make_connector, write(0, 200), middle, write(200, 200))
    assert saved == cursor, why
    assert len(ids(after)) >= 400  # the next run reads the change, and the run's creates with it


def test_a_create_whose_answer_was_lost_keeps_the_read_cursor(
    sandbox: MailchimpSandbox, server: SandboxServer, make_connector: Make
) -> None:
    async def lost(connector: MailchimpConnector, _: MailchimpSandbox) -> None:
        server.knobs.fault_paths, server.knobs.faults = (f"/lists/{sandbox.store.list_id}",), {"reset": 1.0}
        try:
            with pytest.raises(httpx.HTTPError):  # landed, but the run does not know it
                await connector.upsert(creates(900, 10))
        finally:
            server.knobs.faults = {}

    cursor, saved, after, _ = run(sandbox, make_connector, write(0, 200), lost, write(200, 200))
    assert saved == cursor
    assert {f"new{n}@example.com" for n in range(900, 910)} <= emails(after)


def test_the_run_after_creating_members_lists_mailchimp_in_two_requests(tmp_path: Path) -> None:
    """End to end: 600 Stripe customers into an empty audience (pages of 50), then a quiet run, then a run after
    one member unsubscribed. The quiet run asks Mailchimp for its changes in two requests instead of 13 pages."""
    with SandboxServer(StripeSandbox(seed=600)) as stripe, SandboxServer(MailchimpSandbox()) as mc:
        sandbox: MailchimpSandbox = mc.sandbox  # type: ignore[assignment]
        config = {
            "accounts": {
                "stripe": {"connector": "stripe", "settings": {**stripe.settings(), "requests_per_second": 2000.0}},
                "mailchimp": {"connector": "mailchimp", "settings": {**mc.settings(), **FAST, "page_size": PAGE}},
            },
            "connections": [{
                "name": "c", "left": "stripe", "right": "mailchimp",
                "mode": {"left": "update-only", "right": "create-and-update"},
                "mapping": {"fields": [
                    {"left": "name", "right": ["FNAME", "LNAME"], "direction": "left-to-right"},
                    {"left": "email", "right": "email", "transform": "email", "direction": "left-to-right"},
                ]},
            }],
        }
        path = tmp_path / "pairsync.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        loaded = load_config(path)
        store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")

        def sync() -> tuple[Report, int]:
            before = len(sandbox.state.log)
            report = asyncio.run(run_connection(loaded, loaded.config.connection("c"), store))
            assert report.status == "ok", report.summary()
            return report, listings(sandbox, before)

        first, _ = sync()
        assert first.summary()["created"]["right"] == 600
        quiet, requests = sync()
        assert quiet.plan.operations == [] and requests == 2
        sandbox.unsubscribe(next(str(r["id"]) for r in sandbox.records()))
        after, requests = sync()
        assert requests == 2 and after.summary()["tagged"]["left"] == 1
        store.close()
