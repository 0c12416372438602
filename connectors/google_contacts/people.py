"""People API `Person` JSON <-> pairsync's flat fields.

The People API nests everything in lists of typed values (`names[0].givenName`,
`emailAddresses[i]`); the engine wants one flat dict. The first (or primary)
item of each list becomes the plain field (`email`, `phone`), the rest go to
`otherEmails` / `otherPhones`. Updates replace whole lists on Google's side,
so a sparse change is merged into the current person before it is sent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import phonenumbers

from engine.connector import FieldSchema, FieldSpec

Json = dict[str, Any]

PERSON_FIELDS = (
    "names", "emailAddresses", "phoneNumbers", "organizations", "memberships", "userDefined", "clientData", "metadata"
)
USER_DEFINED = "userDefined."
CLIENT_DATA = "clientData."
ORIGIN = CLIENT_DATA + "pairsync_origin"
"""pairsync's origin stamp: a `clientData` pair, data Google stores for the client and shows no user."""
NAME_PARTS = ("givenName", "middleName", "familyName", "unstructuredName")

# Which Person field (the unit of Google's update masks) each flat field lives in.
GROUP_OF: dict[str, str] = {
    **dict.fromkeys(NAME_PARTS, "names"),
    **dict.fromkeys(("email", "emailType", "otherEmails"), "emailAddresses"),
    **dict.fromkeys(("phone", "phoneType", "otherPhones"), "phoneNumbers"),
    **dict.fromkeys(("company", "jobTitle"), "organizations"),
}

# Output-only properties (readOnly in the discovery document) dropped before a write.
READ_ONLY_KEYS = frozenset({"metadata", "displayName", "displayNameLastFirst", "formattedType", "canonicalForm"})

SCHEMA = FieldSchema(
    fields=[
        *(FieldSpec(name) for name in NAME_PARTS),
        FieldSpec("displayName", read_only=True, description="computed by Google from the name parts"),
        FieldSpec("email", description="primary email address"),
        FieldSpec("emailType", description="home, work, other or a custom label"),
        FieldSpec("otherEmails", type="list", description="further addresses as [{value, type}]"),
        FieldSpec("phone", description="primary phone number, E.164"),
        FieldSpec("phoneType"),
        FieldSpec("otherPhones", type="list", description="further numbers as [{value, type}], E.164"),
        FieldSpec("company"),
        FieldSpec("jobTitle"),
        FieldSpec("etag", read_only=True, description="version of the contact, changes on every edit"),
    ],
    custom_prefixes=(USER_DEFINED, CLIENT_DATA),
)


class FieldError(ValueError):
    """A flat field value this connector cannot send; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def split_primary(items: list[Json]) -> tuple[Json | None, list[Json]]:
    """The primary item (flagged, else the first) and the others, in their order."""
    if not items:
        return None, []
    index = next((i for i, item in enumerate(items) if item.get("metadata", {}).get("primary")), 0)
    return items[index], items[:index] + items[index + 1 :]


def to_e164(value: str, region: str, field: str) -> str:
    """Normalise a phone number to E.164, or refuse it naming the field."""
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException as error:
        raise FieldError(field, f"{value!r} is not a phone number ({error})") from None
    if not phonenumbers.is_possible_number(number):
        raise FieldError(field, f"{value!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_on_read(item: Json, region: str) -> str:
    """Google's canonical form when it has one; raw values that do not parse are kept as they are."""
    if item.get("canonicalForm"):
        return str(item["canonicalForm"])
    try:
        return to_e164(str(item.get("value", "")), region, "phone")
    except FieldError:
        return str(item.get("value", ""))


def _typed(value: str, item: Json) -> Json:
    return {"value": value, "type": item["type"]} if item.get("type") else {"value": value}


def to_fields(person: Json, region: str = "US") -> Json:
    """Flat fields of a person; absent values are left out."""
    fields: Json = {}
    if person.get("etag"):
        fields["etag"] = person["etag"]
    names = person.get("names") or []
    if names:
        name, _ = split_primary(names)
        assert name is not None
        for part in (*NAME_PARTS, "displayName"):
            if name.get(part):
                fields[part] = name[part]
    email, other_emails = split_primary(person.get("emailAddresses") or [])
    if email is not None:
        fields["email"] = email.get("value")
        if email.get("type"):
            fields["emailType"] = email["type"]
    if other_emails:
        fields["otherEmails"] = [_typed(str(item.get("value", "")), item) for item in other_emails]
    phone, other_phones = split_primary(person.get("phoneNumbers") or [])
    if phone is not None:
        fields["phone"] = _phone_on_read(phone, region)
        if phone.get("type"):
            fields["phoneType"] = phone["type"]
    if other_phones:
        fields["otherPhones"] = [_typed(_phone_on_read(item, region), item) for item in other_phones]
    organization, _ = split_primary(person.get("organizations") or [])
    if organization is not None:
        if organization.get("name"):
            fields["company"] = organization["name"]
        if organization.get("title"):
            fields["jobTitle"] = organization["title"]
    for group, prefix in (("userDefined", USER_DEFINED), ("clientData", CLIENT_DATA)):
        for item in person.get(group) or []:
            if item.get("key"):
                fields[prefix + item["key"]] = item.get("value", "")
    return fields


def group_of(name: str) -> str:
    """The Person field a flat field belongs to; refuses read-only and unknown names."""
    if name.startswith(USER_DEFINED) and len(name) > len(USER_DEFINED):
        return "userDefined"
    if name.startswith(CLIENT_DATA) and len(name) > len(CLIENT_DATA):
        return "clientData"
    if name in GROUP_OF:
        return GROUP_OF[name]
    if SCHEMA.spec(name) is not None:
        raise FieldError(name, "is read-only in Google Contacts")
    raise FieldError(name, "is not a Google Contacts field")


def apply_changes(person: Json, changes: Mapping[str, Any], region: str) -> tuple[Json, set[str]]:
    """The person with the sparse flat `changes` merged in, and the Person fields they touch.

    `None` clears a field. Values are checked here, so a bad one fails before any request.
    """
    merged = copy.deepcopy(person)
    by_group: dict[str, dict[str, Any]] = {}
    for name, value in changes.items():
        by_group.setdefault(group_of(name), {})[name] = value
    for group, values in by_group.items():
        merged[group] = _MERGERS[group](merged.get(group) or [], values, region)
    return merged, set(by_group)


def _set(item: Json, key: str, value: Any, field: str) -> None:
    if value is None or value == "":
        item.pop(key, None)
    elif isinstance(value, str):
        item[key] = value
    else:
        raise FieldError(field, f"must be text, got {type(value).__name__}")


def _merge_names(items: list[Json], values: Mapping[str, Any], region: str) -> list[Json]:
    name, _ = split_primary(items)
    name = dict(name or {})
    for part, value in values.items():
        _set(name, part, value, part)
    return [name] if any(name.get(part) for part in NAME_PARTS) else []


def _others(values: Mapping[str, Any], field: str, current: list[Json], phone_region: str | None) -> list[Json]:
    if field not in values:
        return current
    raw = values[field] or []
    if not isinstance(raw, list):
        raise FieldError(field, "must be a list of {value, type}")
    items: list[Json] = []
    for index, entry in enumerate(raw):
        entry = {"value": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), str) or not entry["value"]:
            raise FieldError(f"{field}[{index}]", "needs a text `value`")
        value = to_e164(entry["value"], phone_region, f"{field}[{index}]") if phone_region else entry["value"]
        item: Json = {"value": value}
        _set(item, "type", entry.get("type"), f"{field}[{index}].type")
        items.append(item)
    return items


def _merge_list(
    items: list[Json], values: Mapping[str, Any], main: str, others: str, phone_region: str | None
) -> list[Json]:
    primary, rest = split_primary(items)
    primary = dict(primary or {})
    if main in values:
        value = values[main]
        if value is not None and not isinstance(value, str):
            raise FieldError(main, f"must be text, got {type(value).__name__}")
        if value and phone_region:
            value = to_e164(value, phone_region, main)
        _set(primary, "value", value, main)
        primary.pop("canonicalForm", None)
    if f"{main}Type" in values:
        _set(primary, "type", values[f"{main}Type"], f"{main}Type")
    head = [primary] if primary.get("value") else []
    return head + _others(values, others, rest, phone_region)


def _merge_emails(items: list[Json], values: Mapping[str, Any], region: str) -> list[Json]:
    return _merge_list(items, values, "email", "otherEmails", None)


def _merge_phones(items: list[Json], values: Mapping[str, Any], region: str) -> list[Json]:
    return _merge_list(items, values, "phone", "otherPhones", region)


def _merge_organizations(items: list[Json], values: Mapping[str, Any], region: str) -> list[Json]:
    organization, rest = split_primary(items)
    organization = dict(organization or {})
    for field, key in (("company", "name"), ("jobTitle", "title")):
        if field in values:
            _set(organization, key, values[field], field)
    head = [organization] if organization.get("name") or organization.get("title") else []
    return head + rest


def _merge_user_defined(items: list[Json], values: Mapping[str, Any], region: str) -> list[Json]:
    return _merge_pairs(items, values, USER_DEFINED)


def _merge_client_data(items: list[Json], values: Mapping[str, Any], region: str) -> list[Json]:
    return _merge_pairs(items, values, CLIENT_DATA)


def _merge_pairs(items: list[Json], values: Mapping[str, Any], prefix: str) -> list[Json]:
    """Key/value lists (`userDefined`, `clientData`): a sparse change sets or removes single keys."""
    pairs = {item.get("key", ""): item for item in items}
    for field, value in values.items():
        key = field[len(prefix) :]
        if value is None:
            pairs.pop(key, None)
        elif isinstance(value, str | int | float | bool):
            pairs[key] = {"key": key, "value": str(value) if not isinstance(value, str) else value}
        else:
            raise FieldError(field, f"must be text, got {type(value).__name__}")
    return list(pairs.values())


_MERGERS = {
    "names": _merge_names,
    "emailAddresses": _merge_emails,
    "phoneNumbers": _merge_phones,
    "organizations": _merge_organizations,
    "userDefined": _merge_user_defined,
    "clientData": _merge_client_data,
}


def _writable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _writable(v) for k, v in value.items() if k not in READ_ONLY_KEYS}
    if isinstance(value, list):
        return [_writable(v) for v in value]
    return value


def write_body(person: Json, groups: set[str] | list[str]) -> Json:
    """The request body for a write of `groups`: their current values without output-only keys.

    A group in the update mask that is missing from the body would be cleared,
    so every masked group is sent, empty lists included.
    """
    body: Json = {group: _writable(person.get(group) or []) for group in sorted(groups)}
    if person.get("etag"):
        body["etag"] = person["etag"]
    return body


def mask(groups: set[str] | list[str]) -> str:
    return ",".join(sorted(groups))
