"""Built-in transforms: named functions a mapping entry refers to. User strings are never evaluated."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import email_validator
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from engine.hookspecs import hookimpl

Transform = Callable[..., Any]

# Values already in normal form, for which the full parse would return them unchanged (pinned by
# tests against the parse): a fresh process, or more distinct values than the caches hold, would
# otherwise parse every one (10 to 20 us each here). Anything else takes the full parse.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")  # +1, then ten digits not starting with 0 or 1
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP_LABEL = r"(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]"  # top-level domains end with a letter
_PLAIN_EMAIL = re.compile(rf"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:{_LABEL}\.)+{_TOP_LABEL}")
_EMAIL_MAX = 254


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def phone_e164(value: Any, region: str = "US") -> Any:
    """A phone number in E.164 (+15551234567); a value that is not a number passes unchanged."""
    if not isinstance(value, str) or not value.strip():
        return value
    if _NANP_E164.fullmatch(value):
        return value
    return _phone_e164(value, region)


@functools.lru_cache(maxsize=65536)
def _phone_e164(value: str, region: str) -> str:
    """Cached: every run projects every changed record, and parsing a number is the costly part."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(value: Any) -> Any:
    """An email address normalised and lower-cased; invalid ones pass unchanged (only trimmed).

    Mailbox providers treat addresses case-insensitively, so `ADA@example.com` and
    `ada@example.com` are one address: comparing them lower-cased keeps a case-only
    difference from becoming a conflict and a write.
    """
    if not isinstance(value, str) or not value.strip():
        return value
    value = value.strip()
    if _plain_email(value):
        return value
    return _email(value)


def _plain_email(value: str) -> bool:
    """Lower-case ASCII, dot-atom local part, a dotted host name ending in a letter, no `--` and no
    special-use domain: email_validator returns such an address unchanged."""
    if len(value) > _EMAIL_MAX or "--" in value or not _PLAIN_EMAIL.fullmatch(value):
        return False
    domain = "." + value[value.index("@") + 1 :]
    special = _special_suffixes(tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES))
    return len(domain) <= 254 and not domain.endswith(special)


@functools.lru_cache(maxsize=4)
def _special_suffixes(names: tuple[str, ...]) -> tuple[str, ...]:
    """`.name` for each special-use domain (read from email_validator at each call: it may be changed)."""
    return tuple("." + name for name in names)


@functools.lru_cache(maxsize=65536)
def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return value


def date_format(value: Any, format: str = "%Y-%m-%d") -> Any:
    """An ISO-8601 date or date-time (or epoch seconds) rendered with a strftime format."""
    if value in (None, ""):
        return value
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return value
    return moment.strftime(format)


def default(value: Any, value_if_empty: Any = "") -> Any:
    return value_if_empty if value in (None, "", []) else value


def join(value: Any, separator: str = ", ") -> Any:
    if isinstance(value, list | tuple):
        return separator.join(str(v) for v in value if v not in (None, ""))
    return value


def split(value: Any, separator: str = ",") -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(separator) if part.strip()]
    return value


BUILTINS: dict[str, Transform] = {
    "lower": lower,
    "upper": upper,
    "strip": strip,
    "phone_e164": phone_e164,
    "email": email,
    "date_format": date_format,
    "default": default,
    "join": join,
    "split": split,
}


@hookimpl
def register_transforms(register: Callable[[str, Transform], None]) -> None:
    for name, function in BUILTINS.items():
        register(name, function)
