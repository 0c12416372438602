"""The People API sandbox driven by Google's own client for Python (googleapiclient + google-auth).

The client is built from the discovery document it ships and pointed at the
sandbox with `client_options={"api_endpoint": ...}`, the documented way to
reach another host; google-auth refreshes its token at the sandbox's token
endpoint. Every exchange is then checked against the discovery document
(request and response schemas, query parameters, path patterns).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.sandbox import SandboxServer
from tests.google_contacts.test_discovery import conformance_errors

FULL_PERSON: dict[str, Any] = {
    "names": [{"givenName": "Ada", "familyName": "Lovelace"}],
    "nicknames": [{"value": "Enchantress"}],
    "emailAddresses": [{"value": "ada@example.com", "type": "work"}],
    "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "mobile"}],
    "addresses": [{"streetAddress": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH",
                   "country": "United Kingdom", "type": "home"}],
    "biographies": [{"value": "Wrote the first program."}],
    "birthdays": [{"date": {"year": 1815, "month": 12, "day": 10}}],
    "urls": [{"value": "https://example.com/ada", "type": "homePage"}],
    "externalIds": [{"value": "CUST-1815", "type": "account"}],
    "clientData": [{"key": "crm", "value": "42"}],
    "organizations": [{"name": "Analytical Engines", "title": "Programmer"}],
    "events": [{"date": {"month": 7, "day": 27}, "type": "anniversary"}],
    "relations": [{"person": "Charles Babbage", "type": "manager"}],
    "imClients": [{"username": "ada", "protocol": "jabber"}],
    "occupations": [{"value": "Mathematician"}],
    "interests": [{"value": "Poetical science"}],
    "userDefined": [{"key": "plan", "value": "gold"}],
}
STORED = list(FULL_PERSON)


@pytest.fixture
def sandbox() -> GoogleContactsSandbox:
    return GoogleContactsSandbox()


@pytest.fixture
def server(sandbox: GoogleContactsSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def people(sandbox: GoogleContactsSandbox, server: SandboxServer) -> Iterator[Any]:
    settings = server.settings()
    credentials = Credentials(None, refresh_token=settings["refresh_token"], token_uri=settings["token_url"],
                              client_id=settings["client_id"], client_secret=settings["client_secret"])
    service = build("people", "v1", credentials=credentials, static_discovery=True,
                    client_options={"api_endpoint": server.base_url})
    yield service
    errors = [e for exchange in sandbox.state.log if exchange.route for e in conformance_errors(exchange)]
    assert errors == [], "the sandbox and the client must both follow the discovery document"
    service.close()


def _mask(*names: str) -> str:
    return ",".join(names)


def test_create_contact_stores_and_returns_every_field(people: Any) -> None:
    made = people.people().createContact(body=FULL_PERSON, personFields=_mask(*STORED, "memberships")).execute()
    read = people.people().get(resourceName=made["resourceName"], personFields=_mask(*STORED)).execute()
    for name in STORED:
        assert name in made and name in read, f"{name} was dropped"
    assert read["addresses"][0]["formattedValue"].startswith("12 St James's Square")
    assert read["urls"][0]["formattedType"] == "Home Page" and read["imClients"][0]["formattedProtocol"] == "Jabber"
    assert read["birthdays"][0]["date"] == {"year": 1815, "month": 12, "day": 10}
    assert read["biographies"][0]["contentType"] == "TEXT_PLAIN"
    assert read["clientData"][0]["key"] == "crm" and read["externalIds"][0]["value"] == "CUST-1815"
    assert [m["contactGroupMembership"]["contactGroupResourceName"] for m in made["memberships"]] == [
        "contactGroups/myContacts"]


def test_update_person_fields_accepts_every_updatable_field(people: Any) -> None:
    made = people.people().createContact(body={"names": [{"givenName": "Grace"}]}).execute()
    change = {k: v for k, v in FULL_PERSON.items() if k != "names"}
    updated = people.people().updateContact(
        resourceName=made["resourceName"], updatePersonFields=_mask(*change),
        personFields=_mask(*STORED), body={**change, "etag": made["etag"]},
    ).execute()
    assert updated["names"][0]["givenName"] == "Grace", "fields outside the mask stay"
    for name in change:
        assert name in updated, f"{name} was not written"
    cleared = people.people().updateContact(
        resourceName=made["resourceName"], updatePersonFields="biographies,urls", personFields="biographies,urls",
        body={"etag": updated["etag"]},
    ).execute()
    assert "biographies" not in cleared and "urls" not in cleared, "masked fields absent from the body are cleared"


def test_memberships_are_written_on_create_and_by_update(people: Any) -> None:
    group = people.contactGroups().create(body={"contactGroup": {"name": "VIP"}}).execute()
    membership = {"contactGroupMembership": {"contactGroupResourceName": group["resourceName"]}}
    made = people.people().createContact(body={"names": [{"givenName": "Alan"}], "memberships": [membership]},
                                         personFields="memberships").execute()
    assert [m["contactGroupMembership"]["contactGroupResourceName"] for m in made["memberships"]] == [
        group["resourceName"]]
    starred = {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/starred"}}
    moved = people.people().updateContact(resourceName=made["resourceName"], updatePersonFields="memberships",
                                          personFields="memberships",
                                          body={"etag": made["etag"], "memberships": [starred]}).execute()
    assert [m["contactGroupMembership"]["contactGroupResourceName"] for m in moved["memberships"]] == [
        "contactGroups/starred"]


def test_contact_groups_get_update_and_delete(people: Any) -> None:
    groups = people.contactGroups()
    group = groups.create(body={"contactGroup": {"name": "Leads", "clientData": [{"key": "k", "value": "v"}]},
                                "readGroupFields": "name,clientData"}).execute()
    assert group["clientData"] == [{"key": "k", "value": "v"}]
    contact = people.people().createContact(body={"names": [{"givenName": "Lead"}]}).execute()
    groups.members().modify(resourceName=group["resourceName"],
                            body={"resourceNamesToAdd": [contact["resourceName"]]}).execute()
    read = groups.get(resourceName=group["resourceName"], maxMembers=10).execute()
    assert read["memberCount"] == 1 and read["memberResourceNames"] == [contact["resourceName"]]
    renamed = groups.update(resourceName=group["resourceName"],
                            body={"contactGroup": {"name": "Prospects", "etag": read["etag"]}}).execute()
    assert renamed["name"] == "Prospects" and renamed["etag"] != read["etag"]
    batch = groups.batchGet(resourceNames=[group["resourceName"], "contactGroups/myContacts"]).execute()
    assert [r["contactGroup"]["name"] for r in batch["responses"]] == ["Prospects", "myContacts"]
    groups.delete(resourceName=group["resourceName"]).execute()
    with pytest.raises(HttpError) as raised:
        groups.get(resourceName=group["resourceName"]).execute()
    assert raised.value.status_code == 404
    kept = people.people().get(resourceName=contact["resourceName"], personFields="memberships").execute()
    assert group["resourceName"] not in str(kept["memberships"]), "deleting a group keeps its contacts"


def test_system_groups_cannot_be_renamed_or_deleted(people: Any) -> None:
    with pytest.raises(HttpError) as raised:
        people.contactGroups().delete(resourceName="contactGroups/myContacts").execute()
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("ada", ["Ada"]),  # a prefix of a name word
        ("love", ["Ada"]),
        ("ada love", ["Ada"]),  # a prefix of the phrase "ada lovelace"
        ("ovelace", []),  # not a prefix of any word
        ("analytical", ["Ada"]),  # organizations are searched
        ("grace@", ["Grace"]),  # email addresses are searched
        ("enchant", ["Ada"]),  # nicknames are searched
        ("Analytical Engines", ["Ada"]),
    ],
)
def test_search_contacts_matches_prefix_phrases(people: Any, query: str, found: list[str]) -> None:
    # https://developers.google.com/people/api/rest/v1/people/searchContacts (query: "prefix phrases")
    people.people().createContact(body=FULL_PERSON).execute()
    people.people().createContact(body={"names": [{"givenName": "Grace"}],
                                        "emailAddresses": [{"value": "grace@example.com"}]}).execute()
    assert people.people().searchContacts(query="", readMask="names").execute() == {}, "the warm-up request"
    answer = people.people().searchContacts(query=query, readMask="names").execute()
    assert [r["person"]["names"][0]["givenName"] for r in answer.get("results", [])] == found


def test_unknown_methods_answer_googles_error_envelope(people: Any) -> None:
    with pytest.raises(HttpError) as raised:
        people.otherContacts().list(readMask="names").execute()
    assert raised.value.status_code == 404 and raised.value.resp["content-type"].startswith("application/json")
    assert json.loads(raised.value.content)["error"]["status"] == "NOT_FOUND"
    assert "was not found" in raised.value.reason, "googleapiclient read the message from the envelope"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"names": [{"givenName": "Ada"}], "favouriteColour": "blue"}, "'person'"),
        ({"emailAddresses": [{"value": "a@example.com", "label": "work"}]}, "'person.email_addresses[0]'"),
        ({"birthdays": [{"date": {"year": 1815, "month": 12, "dayOfMonth": 10}}]}, "'person.birthdays[0].date'"),
    ],
)
def test_unknown_names_are_refused_not_dropped(sandbox: GoogleContactsSandbox, people: Any, body: dict[str, Any],
                                               where: str) -> None:
    # Google parses bodies strictly: "Invalid JSON payload received. Unknown name ... Cannot find field."
    with pytest.raises(HttpError) as raised:
        people.people().createContact(body=body).execute()
    assert raised.value.status_code == 400 and where in raised.value.reason
    sandbox.state.log.clear()  # the request broke the schema on purpose; the fixture checks the rest


def test_output_only_parts_sent_back_are_ignored_and_recomputed(sandbox: GoogleContactsSandbox, people: Any) -> None:
    made = people.people().createContact(
        body={"names": [{"givenName": "Ada", "displayName": "Somebody Else"}],
              "emailAddresses": [{"value": "ada@example.com", "displayName": "Ada at work",
                                  "formattedType": "Stale"}]},
        personFields="names,emailAddresses").execute()
    assert made["names"][0]["displayName"] == "Ada", "a name's displayName is output-only"
    assert made["emailAddresses"][0]["displayName"] == "Ada at work", "an email's displayName is writable"
    assert "formattedType" not in made["emailAddresses"][0]
    sandbox.state.log.clear()  # output-only parts were sent on purpose; the fixture would flag them


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (None, ["Zoe", "Ada", "Mia"]),  # LAST_MODIFIED_ASCENDING is the documented default
        ("LAST_MODIFIED_DESCENDING", ["Mia", "Ada", "Zoe"]),
        ("FIRST_NAME_ASCENDING", ["Ada", "Mia", "Zoe"]),
        ("LAST_NAME_ASCENDING", ["Mia", "Zoe", "Ada"]),
    ],
)
def test_connections_follow_the_requested_sort_order(people: Any, order: str | None, expected: list[str]) -> None:
    for given, family in (("Zoe", "Baker"), ("Ada", "Clark"), ("Mia", "Adams")):
        people.people().createContact(body={"names": [{"givenName": given, "familyName": family}]}).execute()
    params = {"resourceName": "people/me", "personFields": "names"} | ({"sortOrder": order} if order else {})
    answer = people.people().connections().list(**params).execute()
    assert [p["names"][0]["givenName"] for p in answer["connections"]] == expected


def test_contact_group_listing_refuses_tokens_it_never_issued(people: Any) -> None:
    with pytest.raises(HttpError) as raised:
        people.contactGroups().list(syncToken="made-up").execute()
    assert raised.value.status_code == 400
    with pytest.raises(HttpError) as raised:
        people.contactGroups().list(pageToken="not-a-page").execute()
    assert raised.value.status_code == 400
