"""The member JSON <-> flat fields mapping, as properties: what is written reads back the same."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.mailchimp import members
from connectors.mailchimp.sandbox.render import member_json
from connectors.mailchimp.sandbox.store import Store

text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda t: t.strip() == t and t != ""
)
tags = st.sampled_from(["PLAN", "STAGE", "COMPANY", "MMERGE7"])
addresses = st.fixed_dictionaries(
    {f"ADDRESS.{p}": text for p in members.ADDRESS_REQUIRED},
    optional={"ADDRESS.addr2": text, "ADDRESS.country": st.sampled_from(["US", "GB", "DE"])},
)
flat = st.fixed_dictionaries(
    {"email": st.emails()},
    optional={"FNAME": text, "LNAME": text, "PHONE": text, "vip": st.booleans(),
              "email_type": st.sampled_from(["html", "text"])},
).flatmap(lambda base: st.tuples(st.just(base), st.dictionaries(tags, text, max_size=3), st.one_of(st.just({}),
                                                                                                    addresses)))


@settings(max_examples=40, deadline=None)
@given(flat)
def test_written_fields_read_back_unchanged(case: tuple[dict[str, Any], dict[str, str], dict[str, str]]) -> None:
    base, custom, address = case
    fields = {**base, **{members.MERGE + tag: value for tag, value in custom.items()}, **address}
    store = Store("list", dict.fromkeys(("PLAN", "STAGE", "COMPANY", "MMERGE7"), "text"))
    member = store.add(members.write_body(fields, None), "subscribed", "api")
    read = members.to_fields(member_json(store, member))
    assert {k: read.get(k) for k in fields} == fields
    assert member_json(store, member)["id"] == hashlib.md5(fields["email"].lower().encode()).hexdigest()


@settings(max_examples=40, deadline=None)
@given(st.emails())
def test_the_subscriber_hash_ignores_case_and_surrounding_space(email: str) -> None:
    assert members.subscriber_hash(f"  {email.upper()} ") == members.subscriber_hash(email)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "subscribed"}, "status: is read-only in Mailchimp"),
        ({"last_changed": "2026-01-01"}, "last_changed: is read-only"),
        ({"nickname": "Ada"}, "nickname: is not a Mailchimp member field"),
        ({"vip": "yes"}, "vip: must be true or false"),
        ({"email_type": "pdf"}, "email_type: must be html or text"),
        ({"FNAME": ["A"]}, "FNAME: must be text or a number"),
        ({"ADDRESS.city": "Paris"}, "ADDRESS.addr1: Mailchimp keeps an address only with"),
        ({"email": "  "}, "email: a member needs an email address"),
    ],
)
def test_values_refused_before_sending(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(members.FieldError, match=message):
        members.write_body(changes, None)


def test_clearing_values() -> None:
    current = {"merge_fields": {"ADDRESS": {"addr1": "1 Main St", "city": "X", "state": "Y", "zip": "1"}}}
    body = members.write_body({"FNAME": None, **{f"ADDRESS.{p}": None for p in members.ADDRESS_PARTS}}, current)
    assert body == {"merge_fields": {"FNAME": "", "ADDRESS": ""}}
