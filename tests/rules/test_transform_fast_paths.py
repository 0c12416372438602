"""Values already in normal form skip the costly parse: the result must be exactly the parse's, for any input.

The fast paths exist for speed only (a fresh process, or more distinct values than a cache holds,
would parse every email and phone number); these tests compare them with the full parse itself
(`_email`, `_phone_e164` unwrapped from their caches) on generated inputs near and far from the
shapes the fast paths accept.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.transforms import _email, _phone_e164, _plain_email, email, phone_e164

EMAIL_PARSE = _email.__wrapped__
PHONE_PARSE = _phone_e164.__wrapped__

_LOCAL_CHARS = string.ascii_letters + string.digits + "._+-'!#~\"@ \u00e9"
_DOMAIN_CHARS = string.ascii_lowercase + string.digits + ".-_A\u00e9"
_TLDS = ["com", "io", "c0m", "x", "9", "-io", "io-", "local", "test", "invalid", "arpa", "onion", "localhost"]

plain_locals = st.from_regex(r"[a-z0-9_+-]{1,10}(\.[a-z0-9_+-]{1,5}){0,2}", fullmatch=True)
local_parts = st.text(_LOCAL_CHARS, min_size=0, max_size=12) | plain_locals
plain_labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
domains = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(st.text(_DOMAIN_CHARS, min_size=0, max_size=10) | plain_labels, max_size=3),
    st.sampled_from([*_TLDS, "xn--p1ai"]) | st.text(_DOMAIN_CHARS, min_size=1, max_size=4),
)
emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)


@settings(max_examples=1500, deadline=None)
@given(emails)
@example("ada.lovelace.1.123@example.com")
@example("ada@" + "a" * 63 + ".com")
@example("ada@" + "a" * 64 + ".com")
@example("a" * 240 + "@example.com")
@example("a" * 250 + "@example.com")
@example("ada@mail.test")
@example("ada@ab--cd.com")
def test_email_fast_path_is_the_parse(value: str) -> None:
    assert email(value) == EMAIL_PARSE(value.strip())


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("ada.lovelace.1.123@example.com", True),  # what connectors return once normalised
        ("Ada@example.com", False),  # the parse lower-cases it
        ("ada@localhost", False),  # no dot in the domain
        ("ada@mail.local", False),  # special-use domain
        ("ada@xn--80ak6aa92e.com", False),  # punycode: decoded by the parse
        ("ada..b@example.com", False),
    ],
)
def test_plain_email_shapes(value: str, plain: bool) -> None:
    assert _plain_email(value) is plain


phones = (
    st.from_regex(r"\+1[0-9]{8,12}", fullmatch=True)
    | st.from_regex(r"\+[0-9]{1,3}[0-9]{6,12}", fullmatch=True)
    | st.text(string.digits + "+-() ", min_size=1, max_size=16)
)


@settings(max_examples=1500, deadline=None)
@given(phones, st.sampled_from(["US", "GB", "FR", "CA"]))
@example("+15551234567", "US")
@example("+12015550123", "GB")
@example("+11234567890", "US")
@example("+10234567890", "US")
def test_phone_fast_path_is_the_parse(value: str, region: str) -> None:
    expected = PHONE_PARSE(value, region) if value.strip() else value
    assert phone_e164(value, region) == expected
