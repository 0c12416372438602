"""Creates and updates of list members; no write ever changes a member's subscription status.

- Creates go in one batch subscribe (`POST /lists/{id}`, up to 500,
  `update_existing: false`) with the account's `status_if_new`, a single
  create too: the answer then says whether Mailchimp added the member
  (`new_members`) or found it, which `follow.py` needs. A member the batch
  reports as already on the list is upserted with
  `PUT /lists/{id}/members/{hash}`, whose `status_if_new` applies only to a
  new member: someone who unsubscribed stays unsubscribed. Other per-member
  errors (an invalid address, a compliance state) fail that record alone.
- Updates are `PATCH /lists/{id}/members/{hash}` with only the changed
  fields, never `status`. An address is one merge field at Mailchimp, so a
  change to one of its parts reads the member first and sends the whole.
- Many updates in one call (`batch_operations_from`, default 250) go as
  one `/batches` job instead, polled until finished; its result archive
  gives each write its own answer (see `batches.py`).
- A new email address would give the member a new id (the subscriber hash),
  so an update that changes more than its letter case fails alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from connectors.mailchimp import members
from connectors.mailchimp.api import Json, MailchimpError, MarketingApi, key_refused
from connectors.mailchimp.batches import Batches, BatchNotFinished
from connectors.mailchimp.settings import MailchimpSettings
from engine.records import WriteRequest

EXISTS = "ERROR_CONTACT_EXISTS"
_One = Callable[[WriteRequest], Awaitable[Json]]


@dataclass
class Outcome:
    """The member as Mailchimp answered, or why one request failed."""

    member: Json | None = None
    error: str | None = None
    added: bool = False  # a create Mailchimp reported as a new member (not an address it found and updated)


def failure(error: Exception) -> str:
    """The reason one record failed; compliance states say so plainly."""
    if isinstance(error, MailchimpError) and error.compliance:
        return f"Mailchimp will not add or resubscribe this member ({error.title}): {error.detail}"
    return str(error) if isinstance(error, MailchimpError | members.FieldError) else f"{type(error).__name__}: {error}"


class Writer:
    """Turns WriteRequests into Marketing API member writes."""

    def __init__(self, api: MarketingApi, settings: MailchimpSettings) -> None:
        self.api = api
        self.settings = settings
        self.members = f"/lists/{settings.list_id}/members"
        self.batches = Batches(api, settings.batch_poll_seconds, settings.batch_timeout_seconds)

    async def write(self, requests: Sequence[WriteRequest]) -> dict[str, Outcome]:
        creates = [r for r in requests if r.id is None]
        updates = [r for r in requests if r.id is not None]
        outcomes: dict[str, Outcome] = {}
        if creates:
            outcomes.update(await self._batch_create(creates))
        threshold = self.settings.batch_operations_from
        if threshold and len(updates) >= threshold:
            outcomes.update(await self._batched_updates(updates))
        else:
            outcomes.update(await self._each(updates, self._patch))
        return outcomes

    async def _each(self, requests: Sequence[WriteRequest], one: _One) -> dict[str, Outcome]:
        answers = await asyncio.gather(*(one(r) for r in requests), return_exceptions=True)
        outcomes: dict[str, Outcome] = {}
        for request, answer in zip(requests, answers, strict=True):
            if isinstance(answer, BaseException):
                if not isinstance(answer, Exception) or key_refused(answer):
                    raise answer  # a signal, or the account's key refused: not this record's failure
                outcomes[request.key] = Outcome(error=failure(answer))
            else:
                outcomes[request.key] = Outcome(member=answer)
        return outcomes

    def _new_member(self, request: WriteRequest) -> Json:
        body = members.write_body(request.fields, None)
        if "email_address" not in body:
            raise members.FieldError("email", "a new member needs an email address")
        return body

    async def _put(self, request: WriteRequest) -> Json:
        body = {**self._new_member(request), "status_if_new": self.settings.status_if_new}
        return await self.api.send("PUT", f"{self.members}/{members.subscriber_hash(body['email_address'])}", body)

    async def _patch(self, request: WriteRequest) -> Json:
        assert request.id is not None
        return await self.api.send("PATCH", f"{self.members}/{request.id}", await self._patch_body(request))

    async def _patch_body(self, request: WriteRequest) -> Json:
        assert request.id is not None
        current = None
        if any(members.merge_tag(name) == members.ADDRESS for name in request.fields):
            current = await self.api.get(f"{self.members}/{request.id}")
        body = members.write_body(request.fields, current)
        email = body.get("email_address")
        if email is not None and members.subscriber_hash(email) != request.id:
            raise members.FieldError(
                "email", "a new address gives a Mailchimp member a new id; change it in Mailchimp, not through a sync"
            )
        return body

    async def _batched_updates(self, requests: Sequence[WriteRequest]) -> dict[str, Outcome]:
        """Many updates as one `/batches` job; each answer matched back by its operation_id (the write key)."""
        outcomes: dict[str, Outcome] = {}
        operations: list[Json] = []
        for request in requests:
            try:
                body = await self._patch_body(request)
            except (members.FieldError, MailchimpError) as error:
                if key_refused(error):
                    raise  # the account's key, not this record: the engine stops the run and marks the account
                outcomes[request.key] = Outcome(error=failure(error))
                continue
            operations.append({"method": "PATCH", "path": f"{self.members}/{request.id}",
                               "operation_id": request.key, "body": json.dumps(body)})
        if not operations:
            return outcomes
        try:
            answers = await self.batches.run(operations)
        except (BatchNotFinished, MailchimpError) as error:
            if key_refused(error):
                raise
            return {**outcomes, **{op["operation_id"]: Outcome(error=failure(error)) for op in operations}}
        for op in operations:
            status, body = answers.get(op["operation_id"], (0, {}))
            if not status:
                outcomes[op["operation_id"]] = Outcome(error="Mailchimp's batch results did not mention this write")
            elif status >= 400:
                refused = MailchimpError(status, str(body.get("title") or "Error"), str(body.get("detail") or ""),
                                         [e for e in body.get("errors") or [] if isinstance(e, dict)])
                outcomes[op["operation_id"]] = Outcome(error=failure(refused))
            else:
                outcomes[op["operation_id"]] = Outcome(member=body)
        return outcomes

    async def _batch_create(self, requests: Sequence[WriteRequest]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        bodies: dict[str, WriteRequest] = {}
        batch: list[Json] = []
        for request in requests:
            try:
                body = self._new_member(request)
            except members.FieldError as error:
                outcomes[request.key] = Outcome(error=str(error))
                continue
            email = body["email_address"].lower()
            if email in bodies:  # the same address twice in one batch: the second goes on its own
                outcomes.update(await self._each([request], self._put))
                continue
            bodies[email] = request
            batch.append({**body, "status": self.settings.status_if_new})
        if not batch:
            return outcomes
        answer = await self.api.send("POST", f"/lists/{self.settings.list_id}",
                                     {"members": batch, "update_existing": False})
        for added, answered in ((True, answer.get("new_members")), (False, answer.get("updated_members"))):
            for member in answered or []:
                found = bodies.pop(str(member.get("email_address", "")).lower(), None)
                if found is not None:
                    outcomes[found.key] = Outcome(member=member, added=added)
        existing: list[WriteRequest] = []
        for refusal in answer.get("errors") or []:
            refused = bodies.pop(str(refusal.get("email_address", "")).lower(), None)
            if refused is None:
                continue
            if refusal.get("error_code") == EXISTS:
                existing.append(refused)
            else:
                outcomes[refused.key] = Outcome(error=_batch_error(refusal))
        outcomes.update(await self._each(existing, self._put))
        for request in bodies.values():
            outcomes[request.key] = Outcome(error="Mailchimp's batch answer did not mention this member")
        return outcomes


def _batch_error(error: Json) -> str:
    field = f" ({error['field']}: {error.get('field_message')})" if error.get("field") else ""
    return f"Mailchimp refused this member: {error.get('error')}{field}"
