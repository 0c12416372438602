"""Reading: paging past 1000, hostile names in queries, CDC cursor, cap and 30-day fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.quickbooks import query
from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.quickbooks.sandbox.qql import parse, tokenize
from tests.quickbooks.conftest import pages, run


def seed_at(sandbox: QuickBooksSandbox, count: int, start: datetime, step: timedelta) -> list[str]:
    """Customers written straight into the store, each `step` after the previous one (fast, no HTTP)."""
    return [
        str(sandbox.store.create({"DisplayName": f"Seeded {i}"}, when=start + i * step)["Id"])
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("count", "page_size", "expected_sizes"),
    [(1205, 1000, [1000, 205]), (1000, 1000, [1000, 0]), (0, 1000, [0]), (7, 3, [3, 3, 1])],
)
def test_full_listing_pages_through_every_customer(sandbox, make_connector, count, page_size, expected_sizes):
    sandbox.seed(count)
    listing = pages(make_connector(page_size=page_size))
    assert [len(p.records) for p in listing] == expected_sizes
    assert {r.id for p in listing for r in p.records} == {r["id"] for r in sandbox.records()}
    assert all(p.full for p in listing)
    assert [p.last for p in listing] == [False] * (len(listing) - 1) + [True]
    assert listing[-1].cursor is not None and all(p.cursor is None for p in listing[:-1])


HOSTILE_NAMES = [
    "O'Brien",
    "back\\slash",
    "ends with backslash\\",
    "\\'",
    "x' OR DisplayName LIKE '%",
    "Robert'); SELECT * FROM Customer --",
    "100% _sure_",
    "line\nbreak",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_quoted_value_reads_back_as_exactly_itself(name):
    tokens = tokenize(query.quote(name))
    assert [(t.kind, t.value) for t in tokens] == [("string", name)]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_query_with_hostile_name_finds_only_that_customer(sandbox, make_connector, name):
    target = sandbox.add_record({"DisplayName": name})
    for decoy in ("x", "O", "Robert", "100", "line", "back"):
        sandbox.add_record({"DisplayName": decoy})

    async def body(connector):
        return await connector.api.query(query.where_equals("DisplayName", name))

    customers, _ = run(make_connector(), body)
    assert [c["Id"] for c in customers] == [target]
    assert parse(query.where_equals("DisplayName", name)).conditions[0].value == name


def test_incremental_read_returns_only_changes_after_the_cursor(sandbox, make_connector):
    old = seed_at(sandbox, 3, datetime.now(UTC) - timedelta(days=2), timedelta(seconds=1))
    cursor = pages(make_connector(cdc_overlap_seconds=0))[-1].cursor
    changed = sandbox.add_record({"DisplayName": "New since cursor"})
    sandbox.update_record(old[0], {"Notes": "edited"})
    listing = pages(make_connector(), cursor)
    seen = {r.id: r for p in listing for r in p.records}
    assert set(seen) == {changed, old[0]}
    assert seen[old[0]].get("Notes") == "edited"
    assert not any(p.full for p in listing)
    assert isinstance(listing[-1].cursor, str) and listing[-1].last


def test_cdc_window_over_the_cap_is_narrowed_and_nothing_is_missed(sandbox, make_connector):
    start = datetime.now(UTC) - timedelta(days=3)
    ids = seed_at(sandbox, 2300, start, timedelta(seconds=1))
    listing = pages(make_connector(), (start - timedelta(minutes=1)).isoformat())
    assert {r.id for p in listing for r in p.records} == set(ids)
    assert len(listing) == 3, "two capped answers, then one under the cap"
    assert all("cap" in (p.note or "") for p in listing[:-1])
    assert not any(p.full for p in listing)


def test_cdc_cap_within_one_second_falls_back_to_a_full_listing(sandbox, make_connector):
    moment = datetime.now(UTC) - timedelta(hours=1)
    ids = seed_at(sandbox, 1001, moment, timedelta(0))
    listing = pages(make_connector(), (moment - timedelta(seconds=5)).isoformat())
    full = [p for p in listing if p.full]
    assert {r.id for p in full for r in p.records} == set(ids)
    assert "one second" in (full[0].note or "")


@pytest.mark.parametrize(
    ("cursor", "clock_shift", "note_part"),
    [
        ((datetime.now(UTC) - timedelta(days=31)).isoformat(), timedelta(0), "older than 30 days"),
        ((datetime.now(UTC) - timedelta(days=1)).isoformat(), timedelta(days=30), "refused"),
        ("not a time", timedelta(0), "unreadable"),
    ],
    ids=["older-than-30-days", "server-refuses", "garbage"],
)
def test_expired_cursor_falls_back_to_a_full_listing(sandbox, make_connector, cursor, clock_shift, note_part):
    sandbox.seed(4)
    sandbox.store.clock_offset = clock_shift
    listing = pages(make_connector(), cursor)
    assert all(p.full for p in listing)
    assert note_part in (listing[0].note or "")
    assert len([r for p in listing for r in p.records]) == 4
    assert listing[-1].cursor is not None


def test_inactive_customer_is_flagged_deleted_in_cdc_and_get(sandbox, make_connector):
    [record_id] = seed_at(sandbox, 1, datetime.now(UTC) - timedelta(days=1), timedelta(0))
    cursor = pages(make_connector())[-1].cursor
    sandbox.delete_record(record_id)
    changed = [r for p in pages(make_connector(), cursor) for r in p.records]
    assert [(r.id, r.deleted) for r in changed] == [(record_id, True)]

    async def body(connector: Any):
        return await connector.get(record_id)

    fetched = run(make_connector(), body)
    assert fetched is not None and fetched.deleted and fetched.get("Active") is False
    assert record_id not in {r.id for p in pages(make_connector()) for r in p.records}, "full listing: active only"
