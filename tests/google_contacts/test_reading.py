"""Reading: paging, sync-token incremental reads, deletions, renames and the expired-token fallback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from connectors.google_contacts import GoogleContactsConnector
from connectors.google_contacts.connector import EXPIRED_NOTE
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.records import Page

from .conftest import drive

Make = Callable[..., GoogleContactsConnector]


def pages_of(connector: GoogleContactsConnector, since: Any = None) -> list[Page]:
    async def body(c: GoogleContactsConnector) -> list[Page]:
        return [page async for page in c.list(since)]

    return drive(connector, body)


def connection_calls(sandbox: GoogleContactsSandbox) -> list[dict[str, list[str]]]:
    return [e.query for e in sandbox.state.log if e.route == "v1/people/{peopleId}/connections"]


@pytest.mark.parametrize(
    ("contacts", "page_size", "pages"),
    [(0, 3, 1), (3, 3, 1), (7, 3, 3), (10, 1000, 1)],
)
def test_full_listing_pages_through_every_contact(
    sandbox: GoogleContactsSandbox, make_connector: Make, contacts: int, page_size: int, pages: int
) -> None:
    sandbox.seed(contacts)
    listing = pages_of(make_connector(page_size=page_size))
    assert len(listing) == pages
    assert all(page.full for page in listing)
    assert [page.last for page in listing] == [False] * (pages - 1) + [True]
    assert {r.id for page in listing for r in page.records} == {r["id"] for r in sandbox.records()}
    assert listing[-1].cursor is not None and all(page.cursor is None for page in listing[:-1])
    json.dumps(listing[-1].cursor)  # the cursor is stored in the state DB


def test_cursor_repeats_the_exact_parameters_of_the_listing_that_made_it(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    sandbox.seed(5)
    cursor = pages_of(make_connector(page_size=2))[-1].cursor
    # a connector configured differently still sends the cursor's own parameters with its token
    pages_of(make_connector(page_size=1000), cursor)
    first, *_, incremental = connection_calls(sandbox)
    assert {k: v for k, v in incremental.items() if k != "syncToken"} == first
    assert incremental["syncToken"] == [cursor["token"]]


def test_incremental_read_returns_only_changes_including_deletions(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    ids = [sandbox.add_record({"givenName": f"P{i}", "email": f"p{i}@example.com"}) for i in range(4)]
    cursor = pages_of(make_connector())[-1].cursor
    sandbox.update_record(ids[0], {"jobTitle": "Engineer"})
    sandbox.delete_record(ids[1])
    added = sandbox.add_record({"givenName": "New", "email": "new@example.com"})

    listing = pages_of(make_connector(), cursor)
    records = {r.id: r for page in listing for r in page.records}
    assert set(records) == {ids[0], ids[1], added}
    assert records[ids[0]].get("jobTitle") == "Engineer"
    assert records[ids[1]].deleted and not records[added].deleted
    assert not any(page.full for page in listing)

    nothing = pages_of(make_connector(), listing[-1].cursor)
    assert [r for page in nothing for r in page.records] == [], "the next token starts after these changes"


def test_expired_sync_token_falls_back_to_a_full_listing_and_says_so(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    sandbox.seed(3)
    cursor = pages_of(make_connector())[-1].cursor
    assert sandbox.expire_sync_tokens() >= 1

    listing = pages_of(make_connector(), cursor)
    assert all(page.full and page.note == EXPIRED_NOTE for page in listing)
    assert {r.id for page in listing for r in page.records} == {r["id"] for r in sandbox.records()}
    refused = [e for e in sandbox.state.log if e.status == 400]
    assert [e.response["error"]["status"] for e in refused] == ["FAILED_PRECONDITION"]
    assert refused[0].response["error"]["details"][0]["reason"] == "EXPIRED_SYNC_TOKEN"
    assert listing[-1].cursor["token"] != cursor["token"], "the fallback yields a fresh token"


def test_renamed_contact_keeps_its_link_through_previous_ids(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    old = sandbox.add_record({"givenName": "Grace", "email": "grace@example.com"})
    cursor = pages_of(make_connector())[-1].cursor
    new = sandbox.rename_record(old)

    [record] = [r for page in pages_of(make_connector(), cursor) for r in page.records]
    assert record.id == new and record.previous_ids == (old,)


def test_records_carry_update_time_and_etag(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    record_id = sandbox.add_record({"givenName": "Alan", "email": "alan@example.com"})
    [record] = [r for page in pages_of(make_connector()) for r in page.records]
    assert record.id == record_id
    assert record.updated is not None and record.updated.tzinfo is not None
    assert record.get("etag") == sandbox.store.contacts[record_id].etag
