"""Tags as Google contact groups ("labels").

A tag is the name of a user contact group. Groups are created on first use;
names are unique per user, so a 409 from create means another client made
the group meanwhile and it is looked up instead. System groups (myContacts,
starred, ...) are never tags; their resource names are fixed, so a contact
that belongs only to them (every contact just created) needs no group listing.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.google_contacts.api import GoogleApiError, Json, PeopleApi

USER_GROUP = "USER_CONTACT_GROUP"
GROUP_FIELDS = "name,groupType"
SYSTEM_GROUPS = frozenset(
    f"contactGroups/{name}"
    for name in ("myContacts", "starred", "friends", "family", "coworkers", "chatBuddies", "all", "blocked")
)


class Labels:
    """A cache of the user's contact groups by name and by resource name."""

    def __init__(self, api: PeopleApi) -> None:
        self.api = api
        self._by_name: dict[str, str] | None = None
        self._names: dict[str, str] = {}
        self._system: set[str] = set(SYSTEM_GROUPS)

    async def load(self) -> None:
        """Read every user group (paged) into the cache."""
        by_name: dict[str, str] = {}
        system: set[str] = set()
        token: str | None = None
        while True:
            params: dict[str, str | int | list[str]] = {"groupFields": GROUP_FIELDS, "pageSize": 1000}
            if token:
                params["pageToken"] = token
            page = await self.api.read("/v1/contactGroups", params)
            for group in page.get("contactGroups") or []:
                if group.get("groupType") == USER_GROUP and group.get("name"):
                    by_name[group["name"]] = group["resourceName"]
                else:
                    system.add(group["resourceName"])
            token = page.get("nextPageToken")
            if not token:
                break
        self._by_name = by_name
        self._system = system | SYSTEM_GROUPS
        self._names = {resource: name for name, resource in by_name.items()}

    async def find(self, name: str) -> str | None:
        """The resource name of the user group called `name`, if there is one."""
        if self._by_name is None or name not in self._by_name:
            await self.load()
        assert self._by_name is not None
        return self._by_name.get(name)

    async def ensure(self, name: str) -> str:
        """The group called `name`, created on first use."""
        existing = await self.find(name)
        if existing:
            return existing
        try:
            created = await self.api.write("POST", "/v1/contactGroups", {"contactGroup": {"name": name}})
        except GoogleApiError as error:
            if error.code != 409:
                raise
            found = await self.find(name)
            if found is None:
                raise
            return found
        self._remember(name, created["resourceName"])
        return str(created["resourceName"])

    def _remember(self, name: str, resource: str) -> None:
        if self._by_name is not None:
            self._by_name[name] = resource
        self._names[resource] = name

    async def tags_of(self, person: Json) -> frozenset[str]:
        """The names of the user groups a person belongs to."""
        resources = [
            m["contactGroupMembership"].get("contactGroupResourceName", "")
            for m in person.get("memberships") or []
            if isinstance(m.get("contactGroupMembership"), dict)
        ]
        if any(r and r not in self._names and r not in self._system for r in resources):
            await self.load()
        return frozenset(self._names[r] for r in resources if r in self._names)

    async def modify(self, group: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> Json:
        """Add or remove members; both are idempotent at Google."""
        body: Json = {}
        if add:
            body["resourceNamesToAdd"] = list(add)
        if remove:
            body["resourceNamesToRemove"] = list(remove)
        return await self.api.write("POST", f"/v1/{group}/members:modify", body)
