"""Writing: batches with per-item results, stale SyncTokens, DisplayName clashes, request ids."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connectors.quickbooks.writes import request_id
from engine.records import WriteRequest
from tests.quickbooks.conftest import run

EMAIL = "PrimaryEmailAddr.Address"


def create(fields: dict[str, Any]) -> WriteRequest:
    return WriteRequest(key=uuid.uuid4().hex, id=None, fields=fields)


def upsert(connector, requests):
    async def body(c):
        return await c.upsert(requests)

    return run(connector, body)


def person(n: int) -> dict[str, Any]:
    return {"DisplayName": f"Person {n}", EMAIL: f"person{n}@example.com"}


@pytest.mark.parametrize(
    ("bad_fields", "error_part"),
    [
        ({"GivenName": "x" * 101}, "GivenName"),
        ({EMAIL: "no-at-sign"}, EMAIL),
        ({"Active": "yes"}, "Active"),
        ({"MetaData.CreateTime": "2020-01-01T00:00:00Z"}, "read-only"),
        ({"Nickname": "Ace"}, "Nickname"),
        ({"BillAddr.PostalCode": 1000}, "BillAddr.PostalCode"),
    ],
)
def test_one_bad_item_fails_alone_and_names_the_field(sandbox, make_connector, bad_fields, error_part):
    requests = [create(person(n)) for n in range(5)]
    requests[2] = create({**person(2), **bad_fields})
    results = upsert(make_connector(), requests)
    assert [r.key for r in results] == [r.key for r in requests]
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert error_part in (results[2].error or "")
    assert len(sandbox.records()) == 4


def test_more_requests_than_a_batch_holds_go_in_several_batches(server, make_connector):
    requests = [create(person(n)) for n in range(65)]
    before = server.knobs.requests
    results = upsert(make_connector(), requests)
    assert all(r.ok for r in results) and len({r.id for r in results}) == 65
    token_and_batches = server.knobs.requests - before
    assert token_and_batches == 1 + 3, "one token refresh, then ceil(65 / 30) batch requests"


def test_a_resent_batch_is_applied_once(sandbox, make_connector):
    requests = [create(person(n)) for n in range(3)]
    first = upsert(make_connector(), requests)
    again = upsert(make_connector(), requests)
    assert [r.id for r in first] == [r.id for r in again]
    assert len(sandbox.records()) == 3
    assert request_id([r.key for r in requests], "first") == request_id([r.key for r in requests], "first")


@pytest.mark.parametrize(("outside_edits", "ok"), [(1, True), (2, False)])
def test_stale_sync_token_is_reread_merged_and_retried_once(sandbox, make_connector, outside_edits, ok):
    record_id = sandbox.add_record({**person(1), "GivenName": "Ada"})
    sandbox.edit_before_next_writes(record_id, {"BillAddr.City": "Ghent"}, times=outside_edits)
    [result] = upsert(make_connector(), [WriteRequest(key="k", id=record_id, fields={"FamilyName": "King"})])
    stored = {r["id"]: r for r in sandbox.records()}[record_id]
    assert result.ok is ok
    assert stored["BillAddr.City"] == "Ghent", "the outside edit is kept"
    if ok:
        assert stored["FamilyName"] == "King" and stored["GivenName"] == "Ada"
    else:
        assert "5010" in (result.error or "") and "after one retry" in (result.error or "")
        assert "FamilyName" not in stored


def test_display_name_taken_by_another_customer_gets_the_email_in_parentheses(sandbox, make_connector):
    sandbox.add_record({"DisplayName": "Ada Lovelace", EMAIL: "ada@first.example"})
    [result] = upsert(make_connector(), [create({"DisplayName": "Ada Lovelace", EMAIL: "ada@second.example"})])
    assert result.ok, result.error
    assert result.record is not None
    assert result.record.get("DisplayName") == "Ada Lovelace (ada@second.example)"


def test_display_name_taken_by_a_vendor_is_disambiguated_the_same_way(sandbox, make_connector):
    sandbox.store.other_names.add("Acme Ltd")
    [result] = upsert(make_connector(), [create({"DisplayName": "Acme Ltd", EMAIL: "ap@acme.example"})])
    assert result.record is not None and result.record.get("DisplayName") == "Acme Ltd (ap@acme.example)"


def test_display_name_of_the_same_person_links_to_the_existing_customer(sandbox, make_connector):
    existing = sandbox.add_record({"DisplayName": "Grace Hopper", EMAIL: "grace@navy.example"})
    [result] = upsert(make_connector(), [create({"DisplayName": "Grace Hopper", EMAIL: "GRACE@navy.example"})])
    assert result.ok and result.id == existing
    assert len(sandbox.records()) == 1


@pytest.mark.parametrize(
    ("taken", "fields", "error_part"),
    [
        (["Alan Turing"], {"DisplayName": "Alan Turing"}, "no email"),
        (["Alan Turing", "Alan Turing (alan@b.example)"], {"DisplayName": "Alan Turing", EMAIL: "alan@b.example"},
         "after one retry"),
    ],
    ids=["no-email", "disambiguated-name-also-taken"],
)
def test_display_name_clash_that_cannot_be_resolved_fails_without_looping(
    sandbox, server, make_connector, taken, fields, error_part
):
    for n, name in enumerate(taken):
        sandbox.add_record({"DisplayName": name, EMAIL: f"other{n}@a.example"})
    before = server.knobs.requests
    [result] = upsert(make_connector(), [create(fields)])
    assert not result.ok
    assert "6240" in (result.error or "") and error_part in (result.error or "")
    assert server.knobs.requests - before <= 4, "token, batch, name lookup, one retried batch: no loop"


def test_update_of_a_missing_customer_fails_alone(make_connector):
    results = upsert(make_connector(), [WriteRequest(key="a", id="424242", fields={"Notes": "x"}), create(person(1))])
    assert [r.ok for r in results] == [False, True]
    assert "424242" in (results[0].error or "")


def test_writing_notes_keeps_the_tags(sandbox, make_connector):
    record_id = sandbox.add_record(person(1))

    async def body(connector):
        await connector.tag(record_id, "VIP")
        [result] = await connector.upsert([WriteRequest(key="n", id=record_id, fields={"Notes": "call on Mondays"})])
        assert result.ok, result.error
        return await connector.get(record_id)

    record = run(make_connector(), body)
    assert record.tags == {"VIP"} and record.get("Notes") == "call on Mondays"
    raw = sandbox.store.get(record_id)["Notes"]
    assert raw == 'call on Mondays\npairsync tags: ["VIP"]', "the tag line is visible in QuickBooks"
