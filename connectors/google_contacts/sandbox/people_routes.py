"""`people.*` methods of the People API: connections listing, get, batchGet and contact mutations.

Batch mutations are all-or-nothing, as at Google: every contact is checked
before any is written, and one bad contact refuses the whole batch with a
400 whose details (BatchCreate/UpdateContactsErrorDetails) name it.

The `fail_emails` knob (`GoogleContactsSandbox.fail_emails`) makes the API
refuse any write carrying one of those addresses, or updating a contact that
holds one, for tests of a batch with one failing item.
"""

from __future__ import annotations

from typing import Any

from connectors.google_contacts.sandbox.errors import ApiError, batch_refused, refused_email
from connectors.google_contacts.sandbox.person_schema import check_names
from connectors.google_contacts.sandbox.routing import Call, Json, Route
from connectors.google_contacts.sandbox.store import SINGLETONS, UPDATABLE, Contact, Store

MAX_BATCH = 200
DEFAULT_PAGE_SIZE = 100
SEARCH_PAGE_SIZE, SEARCH_MAX_PAGE_SIZE = 10, 30  # searchContacts: "Defaults to 10 ... capped to 30"
SEARCHED = ("names", "nicknames", "emailAddresses", "phoneNumbers", "organizations")
# Keys an item of a field must carry (the reference's "required" notes; the rest is optional).
REQUIRED_KEYS = {
    "emailAddresses": ("value",), "phoneNumbers": ("value",), "urls": ("value",), "externalIds": ("value", "type"),
    "userDefined": ("key", "value"), "clientData": ("key", "value"), "relations": ("person",),
    "imClients": ("username",), "sipAddresses": ("value",), "calendarUrls": ("url",), "events": ("date",),
    "genders": ("value",), "biographies": ("value",), "nicknames": ("value",), "occupations": ("value",),
    "interests": ("value",), "locales": ("value",), "miscKeywords": ("value",), "locations": ("value",),
}


def check_person(person: Any, where: str = "person") -> Json:
    """Refuse what Google refuses for a contact source; messages name the field."""
    if not isinstance(person, dict):
        raise ApiError(400, f"Invalid {where}: expected an object.")
    check_names(person, where)
    for group in SINGLETONS:
        if len(person.get(group) or []) > 1:
            raise ApiError(400, f"Invalid {where}.{group}: only one is allowed on a contact.")
    for group, needed in REQUIRED_KEYS.items():
        for index, item in enumerate(person.get(group) or []):
            if not isinstance(item, dict):
                raise ApiError(400, f"Invalid {where}.{group}[{index}]: expected an object.")
            for key in needed:
                if not str(item.get(key) or "").strip():
                    raise ApiError(400, f"Invalid {where}.{group}[{index}].{key}: a value is required.")
    for index, item in enumerate(person.get("birthdays") or []):
        if not item.get("date") and not item.get("text"):
            raise ApiError(400, f"Invalid {where}.birthdays[{index}]: a date or a text is required.")
    return person


def marked_email(store: Store, person: Json) -> str | None:
    """The first address of `person` the `fail_emails` knob refuses, if any."""
    if not store.fail_emails:
        return None
    refused = {email.casefold() for email in store.fail_emails}
    for item in person.get("emailAddresses") or []:
        value = str(item.get("value") or "")
        if value.strip().casefold() in refused:
            return value
    return None


def refuse_marked(store: Store, person: Json, where: str = "person") -> None:
    email = marked_email(store, person)
    if email is not None:
        raise ApiError(400, refused_email(where, email))


def refuse_marked_batch(store: Store, operation: str, people: dict[str, Json]) -> None:
    """One 400 for the whole batch when any of its contacts is refused, naming each such contact."""
    errors = {key: refused_email(f"contacts[{key}]", email) for key, person in people.items()
              if (email := marked_email(store, person)) is not None}
    if errors:
        raise batch_refused(operation, errors)


def _written_and_held(store: Store, name: str, person: Json) -> Json:
    """The addresses an update writes together with those its contact holds now."""
    held = store.live(name).data.get("emailAddresses") or []
    return {"emailAddresses": [*(person.get("emailAddresses") or []), *held]}


def update_mask(call: Call, name: str, raw: str | None) -> set[str]:
    groups = {g.strip() for g in (raw or "").split(",") if g.strip()}
    if not groups:
        raise ApiError(400, f"{name} is required. Please specify one or more valid paths.")
    unsupported = sorted(groups - UPDATABLE)
    if unsupported:
        raise ApiError(400, f"Invalid {name} path: \"{unsupported[0]}\".")
    return groups


def person_etag(person: Json) -> str:
    etag = person.get("etag") or next(
        (s.get("etag") for s in (person.get("metadata") or {}).get("sources") or [] if s.get("etag")), None
    )
    if not etag:
        raise ApiError(400, "Request must set person.etag or person.metadata.sources.etag for the source that is "
                            "being updated.")
    return str(etag)


def resource(call: Call) -> str:
    return f"people/{call.path['peopleId']}"


async def list_connections(call: Call) -> Json:
    if call.path["peopleId"] != "me":
        raise ApiError(400, "Only people/me is valid for connections.")
    fields = call.person_fields()
    size = int(call.one("pageSize") or DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    if not 1 <= size <= 1000:
        raise ApiError(400, "pageSize must be between 1 and 1000.")
    store, tokens = call.store, call.tokens
    with store.lock:
        page_token, sync_token = call.one("pageToken"), call.one("syncToken")
        if page_token:
            state = tokens.page(page_token, call.query)
            names, offset, sync_seq = state.resources, state.offset, state.sync_seq
        else:
            since = tokens.sync(sync_token, call.query) if sync_token else None
            picked = [c for c in store.contacts.values() if (c.seq > since if since is not None else not c.deleted)]
            picked = _sorted(picked, call.one("sortOrder") or "LAST_MODIFIED_ASCENDING")
            names, offset, sync_seq = [c.resource for c in picked], 0, store.seq
        chunk = [store.contacts[n] for n in names[offset : offset + size] if n in store.contacts]
        answer: Json = {"connections": [store.render(c, fields) for c in chunk]}
        if offset + size < len(names):
            answer["nextPageToken"] = tokens.issue_page(names, offset + size, sync_seq, call.query)
        elif call.one("requestSyncToken") == "true":
            answer["nextSyncToken"] = tokens.issue_sync(sync_seq, call.query)
        answer["totalPeople"] = answer["totalItems"] = len(names)
    if not answer["connections"]:
        del answer["connections"]
    return answer


def _name_part(contact: Contact, part: str) -> tuple[bool, str]:
    """Sort key: contacts without that name part last, then the part without regard to case."""
    names = contact.data.get("names") or [{}]
    value = str(names[0].get(part) or "")
    return (not value, value.casefold())


SORT_ORDERS = {
    "LAST_MODIFIED_ASCENDING": lambda c: (c.seq,),
    "LAST_MODIFIED_DESCENDING": lambda c: (-c.seq,),
    "FIRST_NAME_ASCENDING": lambda c: (*_name_part(c, "givenName"), c.seq),
    "LAST_NAME_ASCENDING": lambda c: (*_name_part(c, "familyName"), c.seq),
}


def _sorted(contacts: list[Contact], order: str) -> list[Contact]:
    """`sortOrder` of connections.list (default LAST_MODIFIED_ASCENDING); another value is INVALID_ARGUMENT."""
    key = SORT_ORDERS.get(order)
    if key is None:
        raise ApiError(400, f"Invalid value at 'sort_order' ({order}): must be one of {', '.join(SORT_ORDERS)}.")
    return sorted(contacts, key=key)


async def get_person(call: Call) -> Json:
    fields = call.person_fields()
    with call.store.lock:
        return call.store.render(call.store.live(resource(call)), fields)


async def batch_get(call: Call) -> Json:
    fields = call.person_fields()
    names = call.query.get("resourceNames") or []
    if not names or len(names) > MAX_BATCH:
        raise ApiError(400, f"resourceNames must name between 1 and {MAX_BATCH} people.")
    responses: list[Json] = []
    with call.store.lock:
        for name in names:
            contact = call.store.contacts.get(name)
            if contact is None or contact.deleted:
                responses.append({"httpStatusCode": 404, "requestedResourceName": name,
                                  "status": {"code": 5, "message": "Requested entity was not found."}})
            else:
                responses.append({"httpStatusCode": 200, "requestedResourceName": name,
                                  "person": call.store.render(contact, fields)})
    return {"responses": responses}


async def create_contact(call: Call) -> Json:
    person = check_person(call.json_body())
    refuse_marked(call.store, person)
    fields = call.person_fields(required=False)
    with call.store.lock:
        return call.store.render(call.store.create(person), fields)


async def update_contact(call: Call) -> Json:
    person = check_person(call.json_body())
    groups = update_mask(call, "updatePersonFields", call.one("updatePersonFields"))
    fields = call.person_fields(required=False)
    with call.store.lock:
        refuse_marked(call.store, person)
        refuse_marked(call.store, call.store.live(resource(call)).data)
        return call.store.render(call.store.update(resource(call), person, groups, person_etag(person)), fields)


async def search_contacts(call: Call) -> Json:
    """Prefix matches on the words of names, nicknames, emails, phones and organizations; empty query: nothing."""
    fields = call.person_fields("readMask")
    size = int(call.one("pageSize") or 0) or SEARCH_PAGE_SIZE
    if size < 0:
        raise ApiError(400, "pageSize must not be negative.")
    query = (call.one("query") or "").strip().casefold()
    if call.one("query") is None:
        raise ApiError(400, "query is required.")
    with call.store.lock:
        if not query:  # the warm-up request the reference asks clients to send first
            return {}
        found = [c for c in call.store.contacts.values() if not c.deleted and _matches(c.data, query)]
        results = [{"person": call.store.render(c, fields)} for c in found[: min(size, SEARCH_MAX_PAGE_SIZE)]]
    return {"results": results} if results else {}


def _matches(data: Json, query: str) -> bool:
    """A prefix of a phrase: "foo name" matches "fo", "foo n" and "nam", not "oo n" (the reference's example)."""
    for group in SEARCHED:
        for item in data.get(group) or []:
            values = list(item.values())
            if group == "names":  # the display name is matched as one phrase
                values.append(" ".join(str(item[k]) for k in ("givenName", "middleName", "familyName") if item.get(k)))
            for value in values:
                if not isinstance(value, str):
                    continue
                words = value.casefold().split()
                phrases = [" ".join(words[i:]) for i in range(len(words))]
                if any(p.startswith(query) for p in phrases) or _phone_digits(group, value, query):
                    return True
    return False


def _phone_digits(group: str, value: str, query: str) -> bool:
    digits = "".join(c for c in query if c.isdigit())
    return group == "phoneNumbers" and bool(digits) and "".join(c for c in value if c.isdigit()).startswith(digits)


async def delete_contact(call: Call) -> Json:
    call.store.delete(resource(call))
    return {}


def _batch(items: Any, name: str) -> int:
    if not items or len(items) > MAX_BATCH:
        raise ApiError(400, f"{name} must hold between 1 and {MAX_BATCH} contacts.")
    return len(items)


async def batch_create(call: Call) -> Json:
    body = call.json_body()
    contacts = body.get("contacts") or []
    _batch(contacts, "contacts")
    people = [check_person(c.get("contactPerson"), f"contacts[{i}].contactPerson") for i, c in enumerate(contacts)]
    refuse_marked_batch(call.store, "create", {str(i): person for i, person in enumerate(people)})
    fields = call.person_fields("readMask", required=False) if body.get("readMask") else set()
    store = call.store
    with store.lock:
        created = [store.create(person) for person in people]
        return {"createdPeople": [_response(store, c, fields) for c in created]}


async def batch_update(call: Call) -> Json:
    body = call.json_body()
    contacts: Json = body.get("contacts") or {}
    _batch(contacts, "contacts")
    groups = update_mask(call, "updateMask", body.get("updateMask"))
    fields = call.person_fields("readMask", required=False) if body.get("readMask") else set()
    store = call.store
    with store.lock:
        checked = {name: check_person(person, f"contacts[{name}]") for name, person in contacts.items()}
        refuse_marked_batch(store, "update", {name: _written_and_held(store, name, person)
                                              for name, person in checked.items()})
        for name, person in checked.items():
            if store.live(name).etag != person_etag(person):
                raise ApiError(400, f"Request contacts[{name}].etag is different than the current etag.",
                               status="FAILED_PRECONDITION")
        updated = [store.update(name, person, groups, None) for name, person in checked.items()]
        return {"updateResult": {c.resource: _response(store, c, fields) for c in updated}}


async def batch_delete(call: Call) -> Json:
    names = call.json_body().get("resourceNames") or []
    if not names or len(names) > 500:
        raise ApiError(400, "resourceNames must hold between 1 and 500 contacts.")
    with call.store.lock:
        for name in names:
            call.store.live(name)
        for name in names:
            call.store.delete(name)
    return {}


def _response(store: Store, contact: Contact, fields: set[str]) -> Json:
    answer: Json = {"httpStatusCode": 200, "requestedResourceName": contact.resource}
    if fields:
        answer["person"] = store.render(contact, fields)
    return answer


ROUTES = [
    Route("GET", "v1/people/{peopleId}/connections", list_connections),
    Route("GET", "v1/people/{peopleId}", get_person),
    Route("GET", "v1/people:batchGet", batch_get),
    Route("GET", "v1/people:searchContacts", search_contacts),
    Route("POST", "v1/people:createContact", create_contact, mutation=True),
    Route("PATCH", "v1/people/{peopleId}:updateContact", update_contact, mutation=True),
    Route("DELETE", "v1/people/{peopleId}:deleteContact", delete_contact, mutation=True),
    Route("POST", "v1/people:batchCreateContacts", batch_create, mutation=True),
    Route("POST", "v1/people:batchUpdateContacts", batch_update, mutation=True),
    Route("POST", "v1/people:batchDeleteContacts", batch_delete, mutation=True),
]
