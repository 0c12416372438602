"""Creates and updates: batched by 200, single-record calls for one, per-record fallback on refusal.

Google's batch mutations succeed or fail as a whole, so when a batch is
refused with a 400 its records are sent one by one: the bad one fails alone
with Google's message, the others are written. Updates read the current
contacts first (getBatchGet), merge the sparse change in, and send it with
the etag read; an etag mismatch means someone edited meanwhile, so that
contact is read, merged and sent once more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from connectors.google_contacts import people
from connectors.google_contacts.api import GoogleApiError, Json, PeopleApi
from engine.records import WriteRequest

BATCH_SIZE = 200
READ_MASK = ",".join(people.PERSON_FIELDS)



@dataclass
class Outcome:
    """The person written, or why one request failed."""

    person: Json | None = None
    error: str | None = None


@dataclass
class Pending:
    request: WriteRequest
    current: Json = field(default_factory=dict)
    person: Json = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)


def chunks(items: Sequence[Pending], size: int = BATCH_SIZE) -> list[Sequence[Pending]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def failure(error: Exception) -> str:
    """A message for one failed record; never includes a token (httpx errors carry no headers)."""
    if isinstance(error, GoogleApiError | people.FieldError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class Writer:
    """Turns WriteRequests into People API mutations."""

    def __init__(self, api: PeopleApi, region: str) -> None:
        self.api = api
        self.region = region

    async def write(self, requests: Sequence[WriteRequest]) -> dict[str, Outcome]:
        """One outcome per request key."""
        outcomes: dict[str, Outcome] = {}
        creates: list[Pending] = []
        updates: list[Pending] = []
        for request in requests:
            try:
                if request.id is None:
                    person, groups = people.apply_changes({}, request.fields, self.region)
                    creates.append(Pending(request, person=person, groups=groups))
                else:
                    for name in request.fields:
                        people.group_of(name)  # refuse read-only and unknown names before any request
                    updates.append(Pending(request))
            except people.FieldError as error:
                outcomes[request.key] = Outcome(error=str(error))
        async with self.api.mutations:
            for chunk in chunks(creates):
                outcomes.update(await self._guard(chunk, self._create))
            for chunk in chunks(updates):
                outcomes.update(await self._guard(chunk, self._update))
        return outcomes

    async def _guard(
        self, chunk: Sequence[Pending], step: Callable[[Sequence[Pending]], Awaitable[dict[str, Outcome]]]
    ) -> dict[str, Outcome]:
        """A chunk that fails on the way (network, quota exhausted) fails as a whole, and says why."""
        try:
            return await step(chunk)
        except (GoogleApiError, httpx.HTTPError) as error:
            return {p.request.key: Outcome(error=failure(error)) for p in chunk}

    # creates

    async def _create(self, chunk: Sequence[Pending]) -> dict[str, Outcome]:
        if len(chunk) > 1:
            body = {
                "contacts": [{"contactPerson": people.write_body(p.person, p.groups)} for p in chunk],
                "readMask": READ_MASK,
            }
            try:
                answer = await self.api.write("POST", "/v1/people:batchCreateContacts", body)
            except GoogleApiError as error:
                if error.code != 400:
                    raise
            else:
                created = answer.get("createdPeople") or []
                return {p.request.key: _outcome(r) for p, r in zip(chunk, created, strict=True)}
        return {p.request.key: await self._create_one(p) for p in chunk}

    async def _create_one(self, pending: Pending) -> Outcome:
        try:
            person = await self.api.write(
                "POST",
                "/v1/people:createContact",
                people.write_body(pending.person, pending.groups),
                params={"personFields": READ_MASK},
            )
        except (GoogleApiError, httpx.HTTPError) as error:
            return Outcome(error=failure(error))
        return Outcome(person=person)

    # updates

    async def _update(self, chunk: Sequence[Pending]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        current = await self._batch_get([p.request.id or "" for p in chunk])
        ready: list[Pending] = []
        for pending in chunk:
            rid = pending.request.id or ""
            if rid not in current:
                outcomes[pending.request.key] = Outcome(error=f"contact {rid} does not exist")
                continue
            try:
                self._merge(pending, current[rid])
            except people.FieldError as error:
                outcomes[pending.request.key] = Outcome(error=str(error))
                continue
            if pending.groups:
                ready.append(pending)
            else:
                outcomes[pending.request.key] = Outcome(person=pending.current)
        if len(ready) > 1 and await self._update_batch(ready, outcomes):
            return outcomes
        ready = [p for p in ready if p.request.key not in outcomes]
        for pending in ready:
            outcomes[pending.request.key] = await self._update_one(pending)
        return outcomes

    def _merge(self, pending: Pending, current: Json) -> None:
        pending.current = current
        pending.person, pending.groups = people.apply_changes(current, pending.request.fields, self.region)

    async def _update_batch(self, ready: list[Pending], outcomes: dict[str, Outcome]) -> bool:
        """batchUpdateContacts; after an etag conflict the batch is read, merged and sent once more.

        False when Google still refuses it: then its records go one by one.
        """
        for attempt in range(2):
            try:
                return await self._send_batch(ready, outcomes)
            except GoogleApiError as error:
                if error.code != 400:
                    raise
                if not (error.is_conflict and attempt == 0):
                    return False
            fresh = await self._batch_get([p.request.id or "" for p in ready])
            for pending in ready:
                if pending.request.id not in fresh:
                    outcomes[pending.request.key] = Outcome(error=f"contact {pending.request.id} was deleted")
            ready = [p for p in ready if p.request.id in fresh]
            for pending in ready:
                self._merge(pending, fresh[pending.request.id or ""])
        return False

    async def _send_batch(self, ready: list[Pending], outcomes: dict[str, Outcome]) -> bool:
        if not ready:
            return True
        groups = set().union(*(p.groups for p in ready))
        body = {
            "contacts": {p.request.id: people.write_body(p.person, groups) for p in ready},
            "updateMask": people.mask(groups),
            "readMask": READ_MASK,
        }
        answer = await self.api.write("POST", "/v1/people:batchUpdateContacts", body)
        results = answer.get("updateResult") or {}
        for pending in ready:
            result = results.get(pending.request.id or "")
            outcomes[pending.request.key] = _outcome(result) if result else Outcome(error="no result from Google")
        return True

    async def _update_one(self, pending: Pending) -> Outcome:
        """One record's update; whatever goes wrong fails this record alone."""
        try:
            return await self._update_with_etag(pending)
        except (GoogleApiError, httpx.HTTPError, people.FieldError) as error:
            return Outcome(error=failure(error))

    async def _update_with_etag(self, pending: Pending) -> Outcome:
        """updateContact with the etag read; on an etag conflict read, merge and send once more."""
        for attempt in range(2):
            try:
                person = await self.api.write(
                    "PATCH",
                    f"/v1/{pending.request.id}:updateContact",
                    people.write_body(pending.person, pending.groups),
                    params={"updatePersonFields": people.mask(pending.groups), "personFields": READ_MASK},
                )
            except GoogleApiError as error:
                if not (error.is_conflict and attempt == 0):
                    raise
                fresh = await self._batch_get([pending.request.id or ""])
                if not fresh:
                    return Outcome(error=f"contact {pending.request.id} was deleted while being updated")
                self._merge(pending, next(iter(fresh.values())))
                continue
            return Outcome(person=person)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _batch_get(self, ids: list[str]) -> dict[str, Json]:
        """Current contacts by resource name (up to 200); missing ones are left out."""
        answer = await self.api.read("/v1/people:batchGet", {"resourceNames": ids, "personFields": READ_MASK})
        found: dict[str, Json] = {}
        for response in answer.get("responses") or []:
            person = response.get("person")
            if person and response.get("httpStatusCode", 200) == 200:
                found[response.get("requestedResourceName") or person["resourceName"]] = person
        return found


def _outcome(response: Json) -> Outcome:
    status = response.get("status") or {}
    code = response.get("httpStatusCode", 200)
    if code != 200 or status.get("code"):
        return Outcome(error=f"People API error {code}: {status.get('message', 'refused')}")
    return Outcome(person=response.get("person") or {})

