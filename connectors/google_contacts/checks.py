"""`pairsync check` for Google Contacts: the refresh token, the contacts scope, connections and labels.

Each read asks for one item. The scope comes from the token endpoint's answer: a grant of
`contacts.readonly` reads but cannot write, which only matters when a connection writes here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from connectors.google_contacts.api import GoogleApiError, PeopleApi
from connectors.google_contacts.auth import RevokedError
from connectors.google_contacts.settings import CONTACTS_SCOPE
from engine.connector import PermissionCheck
from engine.secrets import REDACTOR

RECONNECT = "run `pairsync connect <config> {account}` and allow access to contacts"


async def run_checks(api: PeopleApi, account: str, writes: bool) -> list[PermissionCheck]:
    fix = RECONNECT.format(account=account)
    people = await _probe(lambda: api.read("/v1/people/me/connections", {"pageSize": 1, "personFields": "names"}))
    if isinstance(people, RevokedError):
        return [PermissionCheck("credentials", False, cost="nothing syncs", fix=fix, detail=_said(people))]
    checks = [PermissionCheck("credentials", True), _result("contacts read", people, "nothing syncs", fix)]
    granted = api.auth.granted_scopes
    if writes:
        can_write = granted is None or CONTACTS_SCOPE in granted
        checks.append(PermissionCheck(
            f"scope {CONTACTS_SCOPE}", can_write,
            cost="" if can_write else "no contact can be written (the grant is read-only)",
            fix="" if can_write else fix,
            detail="" if can_write else f"granted: {' '.join(sorted(granted or ()))}",
        ))
    groups = await _probe(lambda: api.read("/v1/contactGroups", {"pageSize": 1, "groupFields": "name"}))
    checks.append(_result("contact groups (labels) read", groups, "records cannot be read with their labels", fix))
    return checks


async def _probe(call: Callable[[], Awaitable[object]]) -> Exception | None:
    try:
        await call()
    except (GoogleApiError, RevokedError) as error:
        return error
    return None


def _result(name: str, error: Exception | None, cost: str, fix: str) -> PermissionCheck:
    if error is None:
        return PermissionCheck(name, True)
    if not isinstance(error, GoogleApiError) or error.code not in (401, 403):
        raise error
    return PermissionCheck(name, False, cost=cost, fix=fix, detail=_said(error))


def _said(error: Exception) -> str:
    return REDACTOR.redact(str(error))
