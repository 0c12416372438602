"""Person JSON <-> flat fields: what the engine sees of a contact, and what a change sends."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.google_contacts import people
from connectors.google_contacts.people import FieldError

PRIMARY = {"metadata": {"primary": True}}


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ({"names": [{"givenName": "Ada", "familyName": "Lovelace", "displayName": "Ada Lovelace"}]},
         {"givenName": "Ada", "familyName": "Lovelace", "displayName": "Ada Lovelace"}),
        ({"emailAddresses": [{"value": "a@home.example", "type": "home"}, {"value": "a@work.example", **PRIMARY}]},
         {"email": "a@work.example", "otherEmails": [{"value": "a@home.example", "type": "home"}]}),
        ({"phoneNumbers": [{"value": "(202) 555-0100", "type": "work"}]},
         {"phone": "+12025550100", "phoneType": "work"}),
        ({"phoneNumbers": [{"value": "x", "canonicalForm": "+442079460000"}]}, {"phone": "+442079460000"}),
        ({"phoneNumbers": [{"value": "ask reception"}]}, {"phone": "ask reception"}),
        ({"organizations": [{"name": "Acme", "title": "CTO"}]}, {"company": "Acme", "jobTitle": "CTO"}),
        ({"userDefined": [{"key": "plan", "value": "gold"}]}, {"userDefined.plan": "gold"}),
        ({"etag": "%abc", "memberships": [{"contactGroupMembership": {"contactGroupId": "myContacts"}}]},
         {"etag": "%abc"}),
    ],
)
def test_person_to_flat_fields(person: dict[str, Any], expected: dict[str, Any]) -> None:
    assert people.to_fields(person, "US") == expected


@pytest.mark.parametrize(
    ("changes", "groups", "body"),
    [
        ({"givenName": "Ada"}, {"names"}, {"names": [{"givenName": "Ada"}]}),
        ({"phone": "020 7946 0000", "phoneType": "mobile"}, {"phoneNumbers"},
         {"phoneNumbers": [{"value": "+442079460000", "type": "mobile"}]}),
        ({"otherPhones": ["07700 900123"]}, {"phoneNumbers"}, {"phoneNumbers": [{"value": "+447700900123"}]}),
        ({"company": "Acme", "userDefined.plan": 3}, {"organizations", "userDefined"},
         {"organizations": [{"name": "Acme"}], "userDefined": [{"key": "plan", "value": "3"}]}),
        ({"email": None}, {"emailAddresses"}, {"emailAddresses": []}),
    ],
)
def test_changes_become_a_write_body_and_update_mask(
    changes: dict[str, Any], groups: set[str], body: dict[str, Any]
) -> None:
    person, touched = people.apply_changes({}, changes, "GB")
    assert touched == groups
    assert people.write_body(person, touched) == body


def test_write_body_drops_output_only_keys_and_keeps_the_etag() -> None:
    current = {"etag": "%e", "names": [{"givenName": "Ada", "displayName": "Ada", "metadata": PRIMARY["metadata"]}]}
    person, groups = people.apply_changes(current, {"familyName": "King"}, "US")
    assert people.write_body(person, groups) == {"etag": "%e", "names": [{"givenName": "Ada", "familyName": "King"}]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "not a number"}, "phone"),
        ({"phone": "12"}, "phone"),
        ({"otherPhones": "+12025550100"}, "otherPhones"),
        ({"otherEmails": [{"type": "home"}]}, "otherEmails[0]"),
        ({"givenName": ["Ada"]}, "givenName"),
        ({"etag": "%forged"}, "etag"),
        ({"nickname": "Ada"}, "nickname"),
        ({"userDefined.plan": {"nested": 1}}, "userDefined.plan"),
    ],
)
def test_bad_values_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as refused:
        people.apply_changes({}, changes, "US")
    assert refused.value.field == field and str(refused.value).startswith(f"{field}: ")
