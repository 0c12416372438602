"""The Person resource's property names, per the People API reference (the v1 discovery document).

Google parses request bodies strictly: a name the schema does not have is a 400
("Invalid JSON payload received. Unknown name ..."), never silently dropped.
Output-only names are known names: they are accepted in requests and ignored.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.google_contacts.sandbox.errors import ApiError

_ITEMS = {
    "addresses": (
        "city country countryCode extendedAddress formattedType formattedValue metadata poBox postalCode "
        "region streetAddress type"
    ),
    "ageRanges": "ageRange metadata",
    "biographies": "contentType metadata value",
    "birthdays": "date metadata text",
    "braggingRights": "metadata value",
    "calendarUrls": "formattedType metadata type url",
    "clientData": "key metadata value",
    "coverPhotos": "default metadata url",
    "emailAddresses": "displayName formattedType metadata type value",
    "events": "date formattedType metadata type",
    "externalIds": "formattedType metadata type value",
    "fileAses": "metadata value",
    "genders": "addressMeAs formattedValue metadata value",
    "imClients": "formattedProtocol formattedType metadata protocol type username",
    "interests": "metadata value",
    "locales": "metadata value",
    "locations": "buildingId current deskCode floor floorSection metadata type value",
    "memberships": "contactGroupMembership domainMembership metadata",
    "miscKeywords": "formattedType metadata type value",
    "names": (
        "displayName displayNameLastFirst familyName givenName honorificPrefix honorificSuffix metadata "
        "middleName phoneticFamilyName phoneticFullName phoneticGivenName phoneticHonorificPrefix "
        "phoneticHonorificSuffix phoneticMiddleName unstructuredName"
    ),
    "nicknames": "metadata type value",
    "occupations": "metadata value",
    "organizations": (
        "costCenter current department domain endDate formattedType fullTimeEquivalentMillipercent "
        "jobDescription location metadata name phoneticName startDate symbol title type"
    ),
    "phoneNumbers": "canonicalForm formattedType metadata type value",
    "photos": "default metadata url",
    "relations": "formattedType metadata person type",
    "relationshipInterests": "formattedValue metadata value",
    "relationshipStatuses": "formattedValue metadata value",
    "residences": "current metadata value",
    "sipAddresses": "formattedType metadata type value",
    "skills": "metadata value",
    "taglines": "metadata value",
    "urls": "formattedType metadata type value",
    "userDefined": "key metadata value",
}
PERSON_KEYS = frozenset({"resourceName", "etag", "metadata", "ageRange", *_ITEMS})  # every list field has items
ITEM_KEYS = {field: frozenset(keys.split()) for field, keys in _ITEMS.items()}
DATE_KEYS = frozenset({"year", "month", "day"})


def snake(name: str) -> str:
    """Google names fields in its error messages the protobuf way: emailAddresses -> email_addresses."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def unknown_name(name: str, where: str) -> ApiError:
    return ApiError(400, f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field.")


def check_names(person: dict[str, Any], where: str) -> None:
    """Refuse a property the Person schema does not have, at the top level or inside a field's items."""
    for key, value in person.items():
        if key not in PERSON_KEYS:
            raise unknown_name(key, where)
        allowed = ITEM_KEYS.get(key)
        if allowed is None or not isinstance(value, list):
            continue
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            for inner, inner_value in item.items():
                path = f"{where}.{snake(key)}[{index}]"
                if inner not in allowed:
                    raise unknown_name(inner, path)
                if inner in ("date", "startDate", "endDate") and isinstance(inner_value, dict):
                    for part in inner_value:
                        if part not in DATE_KEYS:
                            raise unknown_name(part, f"{path}.{snake(inner)}")
