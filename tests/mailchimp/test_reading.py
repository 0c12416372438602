"""Reading an audience: pages, the count check, the incremental cursor, and what each status means."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from connectors.mailchimp import MailchimpConnector
from connectors.mailchimp.listing import shortfall
from connectors.mailchimp.members import subscriber_hash
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.records import Page
from engine.testing.contract import collect
from tests.mailchimp.conftest import drive

Make = Callable[..., MailchimpConnector]


def add(sandbox: MailchimpSandbox, count: int, prefix: str = "member") -> list[str]:
    return [sandbox.add_record({"email": f"{prefix}{i}@example.com", "FNAME": f"N{i}"}) for i in range(count)]


def test_full_listing_pages_by_count_and_offset(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    ids = add(sandbox, 7)

    async def body(connector: MailchimpConnector) -> list[Page]:
        return [page async for page in connector.list()]

    pages = drive(make_connector(page_size=3), body)
    assert [len(p.records) for p in pages] == [3, 3, 1]
    assert all(p.full for p in pages) and pages[-1].last and pages[-1].cursor
    assert {r.id for p in pages for r in p.records} == set(ids)
    listed = [e for e in sandbox.state.log if e.path.endswith("/members")]
    assert [e.query["offset"] for e in listed] == ["0", "3", "6"] and {e.query["count"] for e in listed} == {"3"}


def test_ids_are_the_md5_of_the_lower_cased_address(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    member_id = sandbox.add_record({"email": "Ada.Lovelace@Example.com"})
    assert member_id == subscriber_hash("ada.lovelace@example.com")
    assert member_id == hashlib.md5(b"ada.lovelace@example.com").hexdigest()
    record = drive(make_connector(), lambda c: c.get(member_id))
    assert record is not None and record.id == member_id and record.get("email") == "Ada.Lovelace@Example.com"


def test_an_audience_that_shrinks_while_it_is_read_is_not_complete(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    ids = add(sandbox, 5)

    async def body(connector: MailchimpConnector) -> list[Page]:
        pages = []
        async for page in connector.list():
            pages.append(page)
            if len(pages) == 1:
                sandbox.delete_record(ids[0])  # archived meanwhile: every later offset shifts by one
        return pages

    pages = drive(make_connector(page_size=2), body)
    assert not pages[-1].full, "a listing that skipped a member must not make the others look deleted"
    assert pages[-1].note and "not treated as complete" in pages[-1].note


@pytest.mark.parametrize(
    ("seen", "first", "last", "complete"),
    [(5, 5, 5, True), (4, 5, 5, False), (4, 5, 4, False), (6, 5, 6, False), (0, 0, 0, True)],
)
def test_shortfall_table(seen: int, first: int, last: int, complete: bool) -> None:
    assert (shortfall(seen, first, last) is None) is complete


def test_incremental_read_reports_unsubscribes_cleaned_and_archived(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    quiet, leaving, bouncing, archived = add(sandbox, 4)
    sandbox.backdate(60)
    cursor = drive(make_connector(), lambda c: collect(c))[1]
    sandbox.unsubscribe(leaving)
    sandbox.bounce(bouncing)
    sandbox.delete_record(archived)

    records, next_cursor, full = drive(make_connector(), lambda c: collect(c, cursor))
    assert not full and next_cursor
    assert quiet not in records, "only members changed since the cursor are read"
    assert records[leaving].unsubscribed and records[leaving].get("status") == "unsubscribed"
    assert not records[bouncing].unsubscribed and records[bouncing].get("status") == "cleaned"
    assert records[archived].deleted
    queries = [e.query for e in sandbox.state.log if e.path.endswith("/members")][-2:]
    assert all(q["since_last_changed"] == cursor for q in queries) and queries[1]["status"] == "archived"


def test_permanently_deleted_member_is_gone_from_a_full_listing(sandbox: MailchimpSandbox, make_connector: Make
                                                                ) -> None:
    keep, forget = add(sandbox, 2)
    sandbox.forget_record(forget)
    records, _, full = drive(make_connector(), lambda c: collect(c))
    assert full and keep in records and forget not in records
    assert drive(make_connector(), lambda c: c.get(forget)) is None


def test_fields_merge_fields_and_tags(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    member_id = sandbox.add_record({
        "email": "grace@example.com", "FNAME": "Grace", "LNAME": "Hopper", "PHONE": "+12025550100",
        "ADDRESS.addr1": "1 Navy Way", "ADDRESS.city": "Arlington", "ADDRESS.state": "VA", "ADDRESS.zip": "22202",
        "ADDRESS.country": "US", "merge_fields.PLAN": "Pro",
    })
    sandbox.store.set_tags(member_id, [{"name": "VIP", "status": "active"}], "admin")
    record = drive(make_connector(), lambda c: c.get(member_id))
    assert record is not None
    assert {k: record.get(k) for k in ("FNAME", "LNAME", "PHONE", "merge_fields.PLAN", "ADDRESS.city")} == {
        "FNAME": "Grace", "LNAME": "Hopper", "PHONE": "+12025550100", "merge_fields.PLAN": "Pro",
        "ADDRESS.city": "Arlington"}
    assert record.get("status") == "subscribed" and record.get("last_changed") and record.updated is not None
    assert record.tags == frozenset({"VIP"})
    assert "merge_fields.BIRTHDAY" not in record.fields, "empty merge fields are left out"


def test_an_incremental_read_that_may_have_skipped_a_member_keeps_its_cursor(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    ids = add(sandbox, 5)
    sandbox.backdate(60)
    cursor = drive(make_connector(), lambda c: collect(c))[1]
    for member_id in ids:
        sandbox.update_record(member_id, {"LNAME": "Changed"})

    async def body(connector: MailchimpConnector) -> list[Page]:
        pages = []
        async for page in connector.list(cursor):
            pages.append(page)
            if len(pages) == 1:
                sandbox.delete_record(ids[0])  # archived meanwhile: the changed members shift by one
        return pages

    pages = drive(make_connector(page_size=2), body)
    assert pages[-1].last and pages[-1].cursor == cursor, "the window is read again next time"
    assert pages[-1].note and "starts again from" in pages[-1].note
    records, _, _ = drive(make_connector(), lambda c: collect(c, cursor))
    assert set(ids[1:]) <= set(records) and records[ids[0]].deleted
