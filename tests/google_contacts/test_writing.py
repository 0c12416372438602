"""Writing: batches beyond 200, sparse merges, etag conflicts, refusals that fail one record, serial mutations."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from connectors.google_contacts import GoogleContactsConnector
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.records import WriteRequest, WriteResult

from .conftest import drive

Make = Callable[..., GoogleContactsConnector]
BEYOND_ONE_BATCH = 250


def request(record_id: str | None, **fields: Any) -> WriteRequest:
    return WriteRequest(key=uuid.uuid4().hex, id=record_id, fields=fields)


def upsert(connector: GoogleContactsConnector, requests: list[WriteRequest]) -> list[WriteResult]:
    async def body(c: GoogleContactsConnector) -> list[WriteResult]:
        return await c.upsert(requests)

    return drive(connector, body)


def calls(sandbox: GoogleContactsSandbox, route: str) -> list[Any]:
    return [e for e in sandbox.state.log if e.route == route]


def test_create_beyond_one_batch_uses_batch_calls_of_at_most_200(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    requests = [request(None, givenName=f"P{i}", email=f"p{i}@example.com") for i in range(BEYOND_ONE_BATCH)]
    results = upsert(make_connector(), requests)

    assert [r.key for r in results] == [r.key for r in requests] and all(r.ok for r in results)
    batches = calls(sandbox, "v1/people:batchCreateContacts")
    assert [len(e.body["contacts"]) for e in batches] == [200, BEYOND_ONE_BATCH - 200]
    emails = {r["email"] for r in sandbox.records()}
    assert emails == {f"p{i}@example.com" for i in range(BEYOND_ONE_BATCH)}
    assert [r.record.get("email") for r in results if r.record] == [f"p{i}@example.com" for i in range(250)]


def test_update_beyond_one_batch_reads_merges_and_batches(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    ids = [sandbox.add_record({"givenName": f"P{i}", "email": f"p{i}@example.com"}) for i in range(BEYOND_ONE_BATCH)]
    results = upsert(make_connector(), [request(rid, jobTitle=f"T{i}") for i, rid in enumerate(ids)])

    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert [len(e.body["contacts"]) for e in calls(sandbox, "v1/people:batchUpdateContacts")] == [200, 50]
    assert [e.body["updateMask"] for e in calls(sandbox, "v1/people:batchUpdateContacts")] == ["organizations"] * 2
    by_id = {r["id"]: r for r in sandbox.records()}
    assert [(by_id[rid]["jobTitle"], by_id[rid]["givenName"]) for rid in ids] == [
        (f"T{i}", f"P{i}") for i in range(BEYOND_ONE_BATCH)
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"givenName": "Augusta"}, {"givenName": "Augusta", "familyName": "Lovelace"}),
        ({"email": "ada@new.example"}, {"email": "ada@new.example", "otherEmails": [{"value": "a@home.example"}]}),
        ({"phone": "020 7946 0001"}, {"phone": "+442079460001", "phoneType": "mobile"}),
        ({"company": None}, {"jobTitle": "Countess"}),
        ({"userDefined.tier": None, "userDefined.plan": "pro"}, {"userDefined.plan": "pro"}),
    ],
)
def test_sparse_update_keeps_the_rest_of_each_person_field(
    sandbox: GoogleContactsSandbox, make_connector: Make, change: dict[str, Any], expected: dict[str, Any]
) -> None:
    original = {
        "givenName": "Ada", "familyName": "Lovelace", "email": "ada@example.com",
        "otherEmails": [{"value": "a@home.example"}], "phone": "+442079460000", "phoneType": "mobile",
        "company": "Engines", "jobTitle": "Countess", "userDefined.tier": "gold",
    }
    record_id = sandbox.add_record(original)
    [result] = upsert(make_connector(default_region="GB"), [request(record_id, **change)])
    assert result.ok, result.error
    [stored] = sandbox.records()
    untouched = {k: v for k, v in original.items() if k not in change and k not in expected}
    absent = {k for k, v in change.items() if v is None}
    assert {k: stored.get(k) for k in {**untouched, **expected}} == {**untouched, **expected}
    assert absent.isdisjoint(stored)


def test_etag_conflict_on_a_single_update_reads_again_merges_again_and_retries_once(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    record_id = sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})
    sandbox.before_next_write(lambda: sandbox.update_record(record_id, {"familyName": "Lovelace"}))

    [result] = upsert(make_connector(), [request(record_id, jobTitle="Countess")])

    assert result.ok, result.error
    assert [e.status for e in calls(sandbox, "v1/people/{peopleId}:updateContact")] == [400, 200]
    [stored] = sandbox.records()
    assert (stored["familyName"], stored["jobTitle"]) == ("Lovelace", "Countess"), "both edits survive"


def test_etag_conflict_in_a_batch_rereads_the_batch_and_sends_it_again(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    ids = [sandbox.add_record({"givenName": f"P{i}", "email": f"p{i}@example.com"}) for i in range(3)]
    sandbox.before_next_write(lambda: sandbox.update_record(ids[1], {"givenName": "Edited"}))

    results = upsert(make_connector(), [request(rid, company="Acme") for rid in ids])

    assert all(r.ok for r in results)
    assert [e.status for e in calls(sandbox, "v1/people:batchUpdateContacts")] == [400, 200]
    by_id = {r["id"]: r for r in sandbox.records()}
    assert [(by_id[rid]["givenName"], by_id[rid]["company"]) for rid in ids] == [
        ("P0", "Acme"), ("Edited", "Acme"), ("P2", "Acme")
    ]


@pytest.mark.parametrize(
    ("bad_fields", "named"),
    [
        ({"phone": "call me maybe"}, "phone"),  # refused by the connector before any request
        ({"otherPhones": [{"type": "work"}]}, "otherPhones[0]"),
        ({"displayName": "Ada L."}, "displayName"),  # read-only
        ({"shoeSize": "42"}, "shoeSize"),  # not a Google Contacts field
        ({"userDefined.plan": ""}, "userDefined"),  # refused by Google: the batch fails, then records go alone
    ],
)
def test_one_bad_record_fails_alone_with_a_message_naming_the_field(
    sandbox: GoogleContactsSandbox, make_connector: Make, bad_fields: dict[str, Any], named: str
) -> None:
    good = [request(None, givenName=f"Good{i}", email=f"good{i}@example.com") for i in range(3)]
    bad = request(None, givenName="Bad", email="bad@example.com", **bad_fields)
    results = upsert(make_connector(), [good[0], bad, *good[1:]])

    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].error and named in results[1].error
    assert sorted(r["givenName"] for r in sandbox.records()) == ["Good0", "Good1", "Good2"]


def test_update_of_a_missing_contact_fails_alone(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    record_id = sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})
    results = upsert(make_connector(), [request("people/c404", company="X"), request(record_id, company="Y")])
    assert [r.ok for r in results] == [False, True]
    assert results[0].error and "people/c404" in results[0].error


def test_mutations_go_one_request_at_a_time(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    sandbox.state.mutation_delay = 0.02
    ids = [sandbox.add_record({"givenName": f"P{i}", "email": f"p{i}@example.com"}) for i in range(4)]

    async def body(c: GoogleContactsConnector) -> None:
        await asyncio.gather(
            c.upsert([request(None, givenName="X", email="x@example.com")]),
            c.upsert([request(ids[0], company="A"), request(ids[1], company="B")]),
            *(c.tag(rid, "VIP") for rid in ids),
        )

    drive(make_connector(), body)
    assert sandbox.state.max_in_flight_mutations == 1
    assert all(sandbox.tags_of(rid) == {"VIP"} for rid in ids)


def test_a_batch_google_keeps_failing_fails_each_record_with_the_reason(
    sandbox: GoogleContactsSandbox, server: Any, make_connector: Make
) -> None:
    requests = [request(None, givenName=f"P{i}", email=f"p{i}@example.com") for i in range(3)]

    async def body(c: GoogleContactsConnector) -> list[WriteResult]:
        await c.get("people/c404")  # the access token is granted before the outage
        server.knobs.faults = {"503": 1.0}
        return await c.upsert(requests)

    results = drive(make_connector(retry_attempts=2), body)
    assert [r.key for r in results] == [r.key for r in requests]
    assert all(not r.ok and r.error and "503" in r.error and "UNAVAILABLE" in r.error for r in results)
