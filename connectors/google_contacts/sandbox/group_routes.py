"""`contactGroups.*` methods: list (paged), create (names unique: 409) and members:modify."""

from __future__ import annotations

import base64

from connectors.google_contacts.sandbox.errors import ApiError
from connectors.google_contacts.sandbox.routing import Call, Json, Route
from connectors.google_contacts.sandbox.store import SYSTEM_GROUPS, Group, Store

GROUP_FIELDS = frozenset({"clientData", "groupType", "memberCount", "metadata", "name"})
ADDABLE_SYSTEM = frozenset({"contactGroups/myContacts", "contactGroups/starred"})


def render_group(store: Store, group: Group, fields: set[str]) -> Json:
    answer: Json = {"resourceName": group.resource, "etag": group.etag or _etag(group)}
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
    return "%" + base64.urlsafe_b64encode(f"{group.resource}:{group.name}".encode()).decode()


def _system_name(group: Group) -> str:
    return SYSTEM_GROUPS.get(group.name, group.name)


def group_fields(call: Call) -> set[str]:
    raw = call.one("groupFields") or ""
    fields = {f.strip() for f in raw.split(",") if f.strip()} or {"metadata", "groupType", "memberCount", "name"}
    unknown = sorted(fields - GROUP_FIELDS)
    if unknown:
        raise ApiError(400, f"Invalid groupFields mask path: \"{unknown[0]}\".")
    return fields


async def list_groups(call: Call) -> Json:
    fields = group_fields(call)
    size = int(call.one("pageSize") or 30) or 30
    offset = int(call.one("pageToken") or 0)
    with call.store.lock:
        groups = list(call.store.groups.values())
        answer: Json = {
            "contactGroups": [render_group(call.store, g, fields) for g in groups[offset : offset + size]],
            "totalItems": len(groups),
        }
    if offset + size < len(groups):
        answer["nextPageToken"] = str(offset + size)
    return answer


async def create_group(call: Call) -> Json:
    group = call.json_body().get("contactGroup") or {}
    name = str(group.get("name") or "").strip()
    if not name:
        raise ApiError(400, "Invalid contactGroup.name: a name is required.")
    return render_group(call.store, add_group(call.store, name), {"name", "groupType", "metadata"})


def add_group(store: Store, name: str) -> Group:
    """A new user group; an existing name is a 409, as at Google."""
    with store.lock:
        if any(g.name == name for g in store.groups.values()):
            raise ApiError(409, "Contact group name already exists.")
        group = Group(store.new_resource("contactGroups/"), name)
        store.groups[group.resource] = group
        return group


async def modify_members(call: Call) -> Json:
    body = call.json_body()
    resource = f"contactGroups/{call.path['contactGroupsId']}"
    add, remove = body.get("resourceNamesToAdd") or [], body.get("resourceNamesToRemove") or []
    if len(add) + len(remove) > 1000:
        raise ApiError(400, "At most 1000 resource names can be modified at once.")
    store = call.store
    with store.lock:
        group = store.groups.get(resource)
        if group is None:
            raise ApiError(404, "Requested entity was not found.")
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
    Route("POST", "v1/contactGroups", create_group, mutation=True),
    Route("POST", "v1/contactGroups/{contactGroupsId}/members:modify", modify_members, mutation=True),
]
