"""`contactGroups.*` methods: list (paged), get, batchGet, create and update (names unique: 409), delete
and members:modify. System groups can be read and (myContacts, starred) given members, not changed."""

from __future__ import annotations

import base64

from connectors.google_contacts.sandbox.errors import ApiError
from connectors.google_contacts.sandbox.routing import Call, Json, Route
from connectors.google_contacts.sandbox.store import SYSTEM_GROUPS, Group, Store, now

GROUP_FIELDS = frozenset({"clientData", "groupType", "memberCount", "metadata", "name"})
ADDABLE_SYSTEM = frozenset({"contactGroups/myContacts", "contactGroups/starred"})


DEFAULT_READ_FIELDS = frozenset({"metadata", "groupType", "name"})
UPDATE_FIELDS = frozenset({"clientData", "name"})
MAX_BATCH_GET = 200


def render_group(store: Store, group: Group, fields: set[str] | frozenset[str], max_members: int = 0) -> Json:
    answer: Json = {"resourceName": group.resource, "etag": group.etag or _etag(group)}
    if "clientData" in fields and group.client_data:
        answer["clientData"] = [dict(item) for item in group.client_data]
    if max_members > 0:
        members = sorted(c.resource for c in store.contacts.values() if not c.deleted and group.resource in c.groups)
        if members:
            answer["memberResourceNames"] = members[:max_members]
    if "name" in fields:
        answer["name"] = group.name
        answer["formattedName"] = group.name if group.group_type == "USER_CONTACT_GROUP" else _system_name(group)
    if "groupType" in fields:
        answer["groupType"] = group.group_type
    if "memberCount" in fields:
        answer["memberCount"] = sum(1 for c in store.contacts.values() if not c.deleted and group.resource in c.groups)
    if "metadata" in fields:
        answer["metadata"] = {"updateTime": group.updated}
    return answer


def _etag(group: Group) -> str:
    return "%" + base64.urlsafe_b64encode(f"{group.resource}:{group.version}:{group.name}".encode()).decode()


def _system_name(group: Group) -> str:
    return SYSTEM_GROUPS.get(group.name, group.name)


def group_fields(call: Call, raw: str | None = None, name: str = "groupFields",
                 default: frozenset[str] = frozenset({"metadata", "groupType", "memberCount", "name"})) -> set[str]:
    text = call.one(name) if raw is None else raw
    fields = {f.strip() for f in (text or "").split(",") if f.strip()} or set(default)
    unknown = sorted(fields - GROUP_FIELDS)
    if unknown:
        raise ApiError(400, f"Invalid {name} mask path: \"{unknown[0]}\".")
    return fields


def _live_group(store: Store, resource: str) -> Group:
    group = store.groups.get(resource)
    if group is None or group.deleted:
        raise ApiError(404, "Requested entity was not found.")
    return group


def _max_members(call: Call) -> int:
    try:
        return max(int(call.one("maxMembers") or 0), 0)
    except ValueError:
        raise ApiError(400, "Invalid value for maxMembers: must be an integer.") from None


def _client_data(value: object, where: str) -> list[Json]:
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(isinstance(i, dict) and i.get("key") and "value" in i for i in value):
        raise ApiError(400, f"Invalid {where}.clientData: each item needs a key and a value.")
    return [{"key": str(i["key"]), "value": str(i["value"])} for i in value]


async def list_groups(call: Call) -> Json:
    """Paged; the sandbox issues no group sync tokens, so any `syncToken` sent is not one of its own."""
    fields = group_fields(call)
    if call.one("syncToken"):
        raise ApiError(400, "Sync token is not valid.")
    try:
        size = int(call.one("pageSize") or 30) or 30
        offset = int(call.one("pageToken") or 0)
    except ValueError:
        raise ApiError(400, "Invalid pageSize or pageToken.") from None
    if not 1 <= size <= 1000 or offset < 0:
        raise ApiError(400, "pageSize must be between 1 and 1000.")
    with call.store.lock:
        groups = [g for g in call.store.groups.values() if not g.deleted]
        answer: Json = {
            "contactGroups": [render_group(call.store, g, fields) for g in groups[offset : offset + size]],
            "totalItems": len(groups),
        }
    if offset + size < len(groups):
        answer["nextPageToken"] = str(offset + size)
    return answer


async def create_group(call: Call) -> Json:
    body = call.json_body()
    group = body.get("contactGroup") or {}
    name = str(group.get("name") or "").strip()
    if not name:
        raise ApiError(400, "Invalid contactGroup.name: a name is required.")
    fields = group_fields(call, body.get("readGroupFields"), "readGroupFields", DEFAULT_READ_FIELDS)
    client_data = _client_data(group.get("clientData"), "contactGroup")
    with call.store.lock:
        created = add_group(call.store, name)
        created.client_data = client_data
        return render_group(call.store, created, fields)


def add_group(store: Store, name: str) -> Group:
    """A new user group; an existing name is a 409, as at Google."""
    with store.lock:
        _check_free(store, name, None)
        group = Group(store.new_resource("contactGroups/"), name)
        store.groups[group.resource] = group
        return group


def _check_free(store: Store, name: str, own: str | None) -> None:
    if any(g.name == name and not g.deleted and g.resource != own for g in store.groups.values()):
        raise ApiError(409, "Contact group name already exists.")


def _resource(call: Call) -> str:
    return f"contactGroups/{call.path['contactGroupsId']}"


async def get_group(call: Call) -> Json:
    fields = group_fields(call)
    with call.store.lock:
        return render_group(call.store, _live_group(call.store, _resource(call)), fields, _max_members(call))


async def batch_get_groups(call: Call) -> Json:
    names = call.query.get("resourceNames") or []
    if not names or len(names) > MAX_BATCH_GET:
        raise ApiError(400, f"resourceNames must name between 1 and {MAX_BATCH_GET} contact groups.")
    fields, most = group_fields(call), _max_members(call)
    responses: list[Json] = []
    with call.store.lock:
        for name in names:
            group = call.store.groups.get(name)
            if group is None or group.deleted:
                responses.append({"requestedResourceName": name,
                                  "status": {"code": 5, "message": "Requested entity was not found."}})
            else:
                responses.append({"requestedResourceName": name, "status": {},
                                  "contactGroup": render_group(call.store, group, fields, most)})
    return {"responses": responses}


async def update_group(call: Call) -> Json:
    """PUT: replaces the fields `updateGroupFields` names (default `name`); a stale etag is refused."""
    body = call.json_body()
    changes = body.get("contactGroup") or {}
    update = group_fields(call, body.get("updateGroupFields"), "updateGroupFields", frozenset({"name"}))
    if update - UPDATE_FIELDS:
        raise ApiError(400, f"Invalid updateGroupFields mask path: \"{sorted(update - UPDATE_FIELDS)[0]}\".")
    fields = group_fields(call, body.get("readGroupFields"), "readGroupFields", DEFAULT_READ_FIELDS)
    store = call.store
    with store.lock:
        group = _live_group(store, _resource(call))
        if group.group_type != "USER_CONTACT_GROUP":
            raise ApiError(400, f"Cannot update the system contact group {group.resource}.")
        if changes.get("etag") and changes["etag"] != (group.etag or _etag(group)):
            raise ApiError(400, "Request contactGroup.etag is different than the current etag.",
                           status="FAILED_PRECONDITION")
        if "name" in update:
            name = str(changes.get("name") or "").strip()
            if not name:
                raise ApiError(400, "Invalid contactGroup.name: a name is required.")
            _check_free(store, name, group.resource)
            group.name = name
        if "clientData" in update:
            group.client_data = _client_data(changes.get("clientData"), "contactGroup")
        group.version += 1
        group.updated = now()
        return render_group(store, group, fields)


async def delete_group(call: Call) -> Json:
    """Deletes a user group; its contacts stay unless `deleteContacts=true`."""
    store = call.store
    with store.lock:
        group = _live_group(store, _resource(call))
        if group.group_type != "USER_CONTACT_GROUP":
            raise ApiError(400, f"Cannot delete the system contact group {group.resource}.")
        members = [c for c in store.contacts.values() if not c.deleted and group.resource in c.groups]
        for contact in members:
            if call.one("deleteContacts") == "true":
                store.delete(contact.resource)
            else:
                store.set_membership(contact, group.resource, False)
        group.deleted = True
    return {}


async def modify_members(call: Call) -> Json:
    body = call.json_body()
    resource = f"contactGroups/{call.path['contactGroupsId']}"
    add, remove = body.get("resourceNamesToAdd") or [], body.get("resourceNamesToRemove") or []
    if len(add) + len(remove) > 1000:
        raise ApiError(400, "At most 1000 resource names can be modified at once.")
    store = call.store
    with store.lock:
        group = _live_group(store, resource)
        if add and group.group_type != "USER_CONTACT_GROUP" and resource not in ADDABLE_SYSTEM:
            raise ApiError(400, f"Cannot add members to the system contact group {resource}.")
        missing: list[str] = []
        for names, member in ((add, True), (remove, False)):
            for name in names:
                contact = store.contacts.get(name)
                if contact is None or contact.deleted:
                    missing.append(name)
                else:
                    store.set_membership(contact, resource, member)
    return {"notFoundResourceNames": missing} if missing else {}


ROUTES = [
    Route("GET", "v1/contactGroups", list_groups),
    Route("GET", "v1/contactGroups:batchGet", batch_get_groups),
    Route("GET", "v1/contactGroups/{contactGroupsId}", get_group),
    Route("PUT", "v1/contactGroups/{contactGroupsId}", update_group, mutation=True),
    Route("DELETE", "v1/contactGroups/{contactGroupsId}", delete_group, mutation=True),
    Route("POST", "v1/contactGroups", create_group, mutation=True),
    Route("POST", "v1/contactGroups/{contactGroupsId}/members:modify", modify_members, mutation=True),
]
