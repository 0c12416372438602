"""Following the sync token while creating: the cursor saved after a run skips its own creates, and nothing else.

Each case reads the account (the run's read), writes through the connector, and asks for the cursor to
save; the next incremental read from that cursor is what the next run would see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.google_contacts import GoogleContactsConnector
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.config import load_config
from engine.records import Page, WriteRequest, WriteResult
from engine.runner import Report, run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore

from .conftest import drive

Make = Callable[..., GoogleContactsConnector]
Step = Callable[[GoogleContactsConnector, GoogleContactsSandbox], Awaitable[Any]]
PAGE = 50  # small pages: a follower that failed would leave the next read several pages of own creates


def creates(start: int, count: int) -> list[WriteRequest]:
    return [
        WriteRequest(key=f"k{n}", id=None, fields={"email": f"new{n}@example.com", "givenName": f"New{n}"})
        for n in range(start, start + count)
    ]


async def read(connector: GoogleContactsConnector, since: Any = None) -> list[Page]:
    return [page async for page in connector.list(since)]


def run(sandbox: GoogleContactsSandbox, make: Make, *steps: Step) -> tuple[Any, Any, list[Page]]:
    """Read, write (each step), then the cursor to save and what the next run reads from it."""
    sandbox.seed(3)

    async def body(connector: GoogleContactsConnector) -> tuple[Any, Any, list[Page]]:
        cursor = (await read(connector))[-1].cursor
        for step in steps:
            await step(connector, sandbox)
        saved = await connector.cursor_after_writes(cursor)
        next_run = make(page_size=PAGE)
        try:
            return cursor, saved, await read(next_run, saved)
        finally:
            await next_run.aclose()

    return drive(make(page_size=PAGE), body)


def write(start: int, count: int) -> Step:
    async def step(connector: GoogleContactsConnector, _: GoogleContactsSandbox) -> list[WriteResult]:
        results: list[WriteResult] = []
        for first in range(start, start + count, 200):
            results += await connector.upsert(creates(first, min(200, start + count - first)))
        assert all(r.error is None for r in results)
        return results

    return step


def outside(change: Callable[[GoogleContactsSandbox], object]) -> Step:
    async def step(_: GoogleContactsConnector, sandbox: GoogleContactsSandbox) -> None:
        change(sandbox)

    return step


def ids(pages: list[Page]) -> set[str]:
    return {r.id for page in pages for r in page.records}


def test_the_cursor_saved_after_creates_skips_them(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    cursor, saved, after = run(sandbox, make_connector, write(0, 1000))
    assert saved != cursor and saved["params"] == cursor["params"]
    assert ids(after) == set() and len(after) == 1  # one request, not 20 pages of the run's own creates
    assert len(sandbox.records()) == 1003


def test_without_writes_the_read_cursor_is_kept(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    cursor, saved, _ = run(sandbox, make_connector)
    assert saved == cursor


def edit_first(sandbox: GoogleContactsSandbox) -> None:
    sandbox.update_record(sandbox.records()[0]["id"], {"familyName": "Edited"})


def delete_first(sandbox: GoogleContactsSandbox) -> None:
    sandbox.delete_record(sandbox.records()[0]["id"])


def add_one(sandbox: GoogleContactsSandbox) -> None:
    sandbox.add_record({"email": "someone@example.com", "givenName": "Someone"})


def edit_own(sandbox: GoogleContactsSandbox) -> None:
    own = next(r for r in sandbox.records() if str(r.get("email", "")).startswith("new"))
    sandbox.update_record(own["id"], {"familyName": "Edited"})


async def update_one(connector: GoogleContactsConnector, sandbox: GoogleContactsSandbox) -> None:
    first = sandbox.records()[0]["id"]
    [result] = await connector.upsert([WriteRequest(key="u", id=first, fields={"familyName": "Ours"})])
    assert result.error is None


async def tag_one(connector: GoogleContactsConnector, sandbox: GoogleContactsSandbox) -> None:
    await connector.tag(sandbox.records()[0]["id"], "Customers")


@pytest.mark.parametrize(
    ("why", "middle"),
    [
        ("someone edits a contact", outside(edit_first)),
        ("someone deletes a contact", outside(delete_first)),
        ("someone adds a contact", outside(add_one)),
        ("someone edits a contact the run created", outside(edit_own)),
        ("the run updates a contact (merged into whatever it holds now)", update_one),
        ("the run labels a contact", tag_one),
    ],
)
def test_any_other_change_keeps_the_read_cursor(
    sandbox: GoogleContactsSandbox, make_connector: Make, why: str, middle: Step
) -> None:
    cursor, saved, after = run(sandbox, make_connector, write(0, 400), middle, write(400, 400))
    assert saved == cursor, why
    assert len(ids(after)) >= 800  # the next run reads the change, and the run's creates with it


def test_a_create_whose_answer_was_lost_keeps_the_read_cursor(
    sandbox: GoogleContactsSandbox, server: SandboxServer, make_connector: Make
) -> None:
    async def lost(connector: GoogleContactsConnector, _: GoogleContactsSandbox) -> None:
        server.knobs.fault_paths, server.knobs.faults = (":batchCreateContacts",), {"reset": 1.0}
        results = await connector.upsert(creates(900, 10))
        server.knobs.faults = {}
        assert all(r.error for r in results)  # landed, but the run does not know it: the next run must see them

    cursor, saved, after = run(sandbox, make_connector, write(0, 400), lost, write(400, 400))
    assert saved == cursor
    assert {f"new{n}@example.com" for n in range(900, 910)} <= {
        r.fields.get("email") for page in after for r in page.records
    }


def test_the_run_after_an_initial_sync_reads_google_in_one_page(tmp_path: Path) -> None:
    """End to end: 600 Stripe customers into an empty Google Contacts (pages of 50), then a quiet run, then a run
    after one outside edit. The quiet run reads Google's feed in one request instead of 12 pages of its creates."""
    with SandboxServer(StripeSandbox(seed=600)) as stripe, SandboxServer(GoogleContactsSandbox()) as google:
        config = {
            "accounts": {
                "stripe": {"connector": "stripe", "settings": {**stripe.settings(), "requests_per_second": 2000.0}},
                "google": {"connector": "google_contacts",
                           "settings": {**google.settings(), "page_size": PAGE, "max_retry_wait_seconds": 0.2}},
            },
            "connections": [{"name": "c", "left": "stripe", "right": "google", "direction": "two-way"}],
        }
        path = tmp_path / "pairsync.yaml"
        path.write_text(yaml.safe_dump(config))
        loaded = load_config(path)
        store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")

        def sync() -> tuple[Report, list[str]]:
            before = len(google.sandbox.state.log)  # type: ignore[attr-defined]
            report = asyncio.run(run_connection(loaded, loaded.config.connection("c"), store))
            assert report.status == "ok", report.summary()
            log = google.sandbox.state.log[before:]  # type: ignore[attr-defined]
            return report, [e.route for e in log if e.route == "v1/people/{peopleId}/connections"]

        first, _ = sync()
        assert first.summary()["created"]["right"] == 600
        quiet, listings = sync()
        assert quiet.plan.operations == [] and len(listings) == 1
        sandbox: GoogleContactsSandbox = google.sandbox  # type: ignore[assignment]
        edited = sandbox.records()[7]["id"]
        sandbox.update_record(edited, {"familyName": "Edited"})
        after, listings = sync()
        assert len(listings) == 1 and after.summary()["updated"]["left"] == 1
        store.close()
