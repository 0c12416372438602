"""How a user recognises a record in a table: its name and its email, not an app's id like `1` or `c123`.

The engine knows no app by name, so the name is found by the shape of field names: a whole name
(`name`, `DisplayName`, `displayName`) or its parts (`givenName`/`familyName`, `first_name`/`last_name`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.records import Record

_WHOLE = ("name", "displayname", "fullname")
_FIRST = ("given", "first")
_LAST = ("family", "last")


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace(".", "")


def name_of(record: Record) -> str | None:
    texts = {_key(k): str(v).strip() for k, v in record.fields.items() if isinstance(v, str) and v.strip()}
    for whole in _WHOLE:
        if whole in texts:
            return texts[whole]
    first = next((v for k, v in texts.items() if k.startswith(_FIRST) and k.endswith("name")), None)
    last = next((v for k, v in texts.items() if k.startswith(_LAST) and k.endswith("name")), None)
    parts = [p for p in (first, last) if p]
    if parts:
        return " ".join(parts)
    return texts.get("companyname")


def label(record: Record, match_field: str) -> str:
    """`Ada Lovelace <ada@example.com>`, or whichever of the two the record has, or its id."""
    name = name_of(record)
    email = record.get(match_field)
    email = str(email).strip() if email else None
    if name and email:
        return f"{name} <{email}>"
    return name or email or record.id


def labels(side: str, records: Iterable[Record], match_field: str) -> dict[tuple[str, str], str]:
    return {(side, record.id): label(record, match_field) for record in records}


def merged(*parts: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for part in parts:
        found.update(part)
    return found
