"""Writing members: batch subscribe, PUT and PATCH, and no write ever resubscribing anyone."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from connectors.mailchimp import MailchimpConnector
from connectors.mailchimp.api import MailchimpError
from connectors.mailchimp.members import subscriber_hash
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.records import WriteRequest, WriteResult
from tests.mailchimp.conftest import drive

Make = Callable[..., MailchimpConnector]


def create(fields: dict[str, Any]) -> WriteRequest:
    return WriteRequest(key=uuid.uuid4().hex, id=None, fields=fields)


def update(member_id: str, fields: dict[str, Any]) -> WriteRequest:
    return WriteRequest(key=uuid.uuid4().hex, id=member_id, fields=fields)


def write(make: Make, requests: list[WriteRequest], **settings: Any) -> list[WriteResult]:
    return drive(make(**settings), lambda c: c.upsert(requests))


def calls(sandbox: MailchimpSandbox) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in sandbox.state.log]


def test_several_creates_are_one_batch_subscribe_with_status_if_new(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    results = write(make_connector, [create({"email": f"new{i}@example.com", "FNAME": "N"}) for i in range(3)],
                    status_if_new="pending")
    assert all(r.ok for r in results)
    assert calls(sandbox) == [("POST", f"/lists/{sandbox.store.list_id}")]
    batch = sandbox.state.log[0].body
    assert batch["update_existing"] is False and {m["status"] for m in batch["members"]} == {"pending"}
    assert {sandbox.status_of(r.id or "") for r in results} == {"pending"}


def test_one_create_is_a_batch_subscribe_of_one_and_an_address_found_there_a_put(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    """One request either way for a new address, and the answer says whether Mailchimp added the member."""
    [result] = write(make_connector, [create({"email": "Solo@Example.com", "LNAME": "Solo"})])
    assert result.ok and result.id == subscriber_hash("solo@example.com")
    [exchange] = sandbox.state.log
    assert (exchange.method, exchange.path) == ("POST", f"/lists/{sandbox.store.list_id}")
    assert exchange.body["update_existing"] is False and exchange.body["members"][0]["status"] == "subscribed"
    [again] = write(make_connector, [create({"email": "solo@example.com", "FNAME": "Again"})])
    assert again.ok and again.id == result.id and sandbox.records()[0]["FNAME"] == "Again"
    put = sandbox.state.log[-1]
    assert (put.method, put.path) == ("PUT", f"/lists/{sandbox.store.list_id}/members/{result.id}")
    assert put.body["status_if_new"] == "subscribed" and "status" not in put.body


@pytest.mark.parametrize("how_many", [1, 3], ids=["one create", "three creates"])
def test_creating_someone_who_unsubscribed_never_resubscribes_them(
    sandbox: MailchimpSandbox, make_connector: Make, how_many: int
) -> None:
    gone = sandbox.add_record({"email": "left@example.com", "FNAME": "Old"})
    sandbox.unsubscribe(gone)
    others = [create({"email": f"other{i}@example.com"}) for i in range(how_many - 1)]
    results = write(make_connector, [create({"email": "left@example.com", "FNAME": "New"}), *others])
    assert all(r.ok for r in results), [r.error for r in results]
    assert results[0].id == gone and sandbox.status_of(gone) == "unsubscribed"
    assert results[0].record is not None and results[0].record.unsubscribed
    assert sandbox.records()[0]["FNAME"] == "New", "the fields are still written"


def test_an_update_never_sends_a_status(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    gone = sandbox.add_record({"email": "quiet@example.com"})
    sandbox.unsubscribe(gone)
    [result] = write(make_connector, [update(gone, {"FNAME": "Quiet"})])
    assert result.ok and sandbox.status_of(gone) == "unsubscribed"
    [exchange] = sandbox.state.log
    assert exchange.method == "PATCH" and exchange.body == {"merge_fields": {"FNAME": "Quiet"}}


def test_status_is_read_only(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    member = sandbox.add_record({"email": "ro@example.com"})
    [result] = write(make_connector, [update(member, {"status": "subscribed"})])
    assert not result.ok and "status: is read-only" in (result.error or "")
    assert sandbox.state.log == [], "refused before any request"


@pytest.mark.parametrize("how_many", [1, 3], ids=["one create", "three creates"])
def test_a_forgotten_address_fails_alone_with_mailchimps_reason(
    sandbox: MailchimpSandbox, make_connector: Make, how_many: int
) -> None:
    sandbox.forget_record(sandbox.add_record({"email": "erased@example.com"}))
    others = [create({"email": f"fine{i}@example.com"}) for i in range(how_many - 1)]
    results = write(make_connector, [create({"email": "erased@example.com"}), *others])
    assert not results[0].ok and "permanently deleted" in (results[0].error or "")
    assert all(r.ok for r in results[1:])


def test_batch_errors_are_per_member(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    results = write(make_connector, [create({"email": "ok@example.com"}), create({"email": "nope@nowhere"}),
                                     create({"email": "ok2@example.com", "merge_fields.NOSUCH": "x"})])
    assert [r.ok for r in results] == [True, False, False]
    assert "looks fake or invalid" in (results[1].error or "")
    assert "merge_fields.NOSUCH" in (results[2].error or "")


def test_the_same_address_twice_in_one_batch(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    results = write(make_connector, [create({"email": "twin@example.com", "FNAME": "A"}),
                                     create({"email": "Twin@example.com", "LNAME": "B"})])
    assert all(r.ok for r in results) and results[0].id == results[1].id


def test_an_address_part_is_merged_into_the_whole_address(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    member = sandbox.add_record({"email": "home@example.com", "ADDRESS.addr1": "1 Main St",
                                 "ADDRESS.city": "Springfield", "ADDRESS.state": "IL", "ADDRESS.zip": "62701"})
    [result] = write(make_connector, [update(member, {"ADDRESS.city": "Chicago", "ADDRESS.zip": "60601"})])
    assert result.ok and result.record is not None
    assert result.record.get("ADDRESS.addr1") == "1 Main St" and result.record.get("ADDRESS.city") == "Chicago"
    incomplete = write(make_connector, [create({"email": "part@example.com", "ADDRESS.city": "Nowhere"})])[0]
    assert not incomplete.ok and "addr1" in (incomplete.error or "")


def test_a_new_address_fails_alone_but_a_new_letter_case_is_fine(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    member = sandbox.add_record({"email": "case@example.com"})
    moved, cased = write(make_connector, [update(member, {"email": "elsewhere@example.com"}),
                                          update(member, {"email": "Case@Example.com"})])
    assert not moved.ok and "new id" in (moved.error or "")
    assert cased.ok and sandbox.records()[0]["email"] == "Case@Example.com"


def test_problem_json_errors_name_the_title_and_keep_the_key_out(sandbox: MailchimpSandbox, make_connector: Make
                                                                 ) -> None:
    key = "ffffffffffffffffffffffffffffffff-us0"
    with pytest.raises(MailchimpError) as refused:  # a refused key stops the writes (see the revoked-key test)
        write(make_connector, [create({"email": "who@example.com"})], api_key=key)
    assert "401 API Key Invalid" in str(refused.value)
    assert key not in str(refused.value)


def test_bearer_auth(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    [result] = write(make_connector, [create({"email": "bearer@example.com"})], auth="bearer")
    assert result.ok and sandbox.state.log[-1].auth == "bearer"


def test_many_updates_go_as_one_batches_job_with_answers_per_write(
    sandbox: MailchimpSandbox, make_connector: Make
) -> None:
    ids = [sandbox.add_record({"email": f"bulk{i}@example.com"}) for i in range(12)]
    requests = [update(i, {"FNAME": f"Bulk {n}"}) for n, i in enumerate(ids)]
    requests[5] = update(ids[5], {"merge_fields.NOSUCH": "x"})
    results = write(make_connector, requests, batch_operations_from=10)
    assert [r.ok for r in results] == [n != 5 for n in range(12)]
    assert "merge_fields.NOSUCH" in (results[5].error or "")
    assert results[0].record is not None and results[0].record.get("FNAME") == "Bulk 0"
    assert [(m, p.split("/")[1]) for m, p in calls(sandbox)] == [("POST", "batches")] + [("GET", "batches")] * 4
    assert sandbox.state.archive_fetches == [None], "the archive is fetched without the API key"


def test_below_the_threshold_updates_are_single_patches(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    ids = [sandbox.add_record({"email": f"few{i}@example.com"}) for i in range(3)]
    write(make_connector, [update(i, {"LNAME": "Few"}) for i in ids], batch_operations_from=10)
    assert {m for m, _ in calls(sandbox)} == {"PATCH"}


@pytest.mark.parametrize(
    "requests",
    [
        pytest.param([create({"email": "one@example.com"})], id="one create"),
        pytest.param([create({"email": f"n{i}@example.com"}) for i in range(3)], id="three creates"),
        pytest.param([update(subscriber_hash("a@example.com"), {"FNAME": "A"})], id="one update (PATCH)"),
    ],
)
def test_a_revoked_key_stops_the_writes_instead_of_failing_each_member(
    sandbox: MailchimpSandbox, make_connector: Make, requests: list[WriteRequest]
) -> None:
    """A 401 is the account's problem: it reaches the engine (which marks the account `needs reconnect`)
    rather than becoming one failed record after another."""
    connector = make_connector(api_key="revokedrevokedrevokedrevoked0000-us0")
    with pytest.raises(MailchimpError) as refused:
        drive(connector, lambda c: c.upsert(requests))
    assert refused.value.status == 401
    assert MailchimpConnector.auth_failure(refused.value)
    assert not MailchimpConnector.auth_failure(MailchimpError(403, "Forbidden", "not allowed"))
