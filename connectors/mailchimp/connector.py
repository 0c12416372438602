"""The Mailchimp connector: the members of one audience, Marketing API v3.

Records are list members keyed by subscriber hash. `status: unsubscribed`
is reported as the contract's unsubscribe signal; `cleaned` is not (the
address bounced: the person did not opt out, and the status field is there
for rules that want it); archived members are deletions, and so is a member
missing from a complete listing (permanently deleted). Reading is in
`listing.py`, writing in `writes.py`, the field mapping in `members.py`,
and moving the cursor past a run's own creates in `follow.py`.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from connectors.mailchimp import members
from connectors.mailchimp.api import Json, MailchimpError, MarketingApi, key_refused
from connectors.mailchimp.follow import Follower
from connectors.mailchimp.listing import Listing, check_cursor
from connectors.mailchimp.settings import MAX_CONNECTIONS, MailchimpSettings
from connectors.mailchimp.webhooks import member_ids, token_matches
from connectors.mailchimp.writes import Writer
from engine.connector import (
    Capabilities,
    ChangeFeed,
    Connector,
    ConnectorContext,
    ConnectorSettings,
    RateLimit,
    RecordKind,
    Sandbox,
)
from engine.records import Page, Record, WriteRequest, WriteResult

CAPABILITIES = Capabilities(
    tags=True,
    batch_size=500,
    rate_limit=RateLimit(requests=50, per_seconds=1.0, max_concurrency=MAX_CONNECTIONS),
    change_feed=ChangeFeed.CDC,
    idempotency=True,  # no keys, but a create is keyed by its address: sent again, it finds the member
    deletion_signal=True,
    unsubscribe_signal=True,
    source_of_truth=False,
)


def to_record(member: Json) -> Record:
    """A member as a record: archived is a deletion, unsubscribed the unsubscribe signal."""
    email = str(member.get("email_address") or "")
    record_id = str(member.get("id") or members.subscriber_hash(email))
    status = member.get("status")
    if status == members.GONE:
        return Record(id=record_id, fields={"email": email, "status": status}, deleted=True)
    return Record(
        id=record_id,
        fields=members.to_fields(member),
        updated=members.parse_time(member.get("last_changed")),
        tags=members.tags_of(member),
        unsubscribed=status == members.UNSUBSCRIBED,
    )


class MailchimpConnector(Connector):
    """Members of a Mailchimp audience; tags are member tags, `since_last_changed` is the change feed."""

    name = "mailchimp"
    kind = RecordKind.CONTACT
    schema = members.SCHEMA
    capabilities = CAPABILITIES
    settings_model: ClassVar[type[ConnectorSettings]] = MailchimpSettings
    match_field = "email"
    settings: MailchimpSettings

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext) -> None:
        if not isinstance(settings, MailchimpSettings):
            raise TypeError("MailchimpConnector needs MailchimpSettings")
        super().__init__(settings, context)
        self.api = MarketingApi(settings, context)
        self.listing = Listing(self.api, settings.list_id, settings.page_size, to_record)
        self.writer = Writer(self.api, settings)
        self.members_path = f"/lists/{settings.list_id}/members"
        self.follower = self._fresh_follower()

    def _fresh_follower(self) -> Follower:
        settings = self.settings
        return Follower(self.api, settings.list_id, settings.page_size, settings.max_connections, to_record)

    def __repr__(self) -> str:
        return f"MailchimpConnector(account={self.context.account!r}, api_url={self.settings.api_url!r})"

    @classmethod
    def capabilities_for(cls, settings: ConnectorSettings) -> Capabilities:
        """Fewer connections or smaller batches when the account's settings ask for them."""
        if not isinstance(settings, MailchimpSettings):
            return cls.capabilities
        limit = RateLimit(requests=settings.requests_per_second, per_seconds=1.0,
                          max_concurrency=settings.max_connections)
        return replace(cls.capabilities, batch_size=settings.batch_size, rate_limit=limit)

    # reading

    async def list(self, since: Any = None) -> AsyncIterator[Page]:
        pages = self.listing.full() if since is None else self.listing.changed(check_cursor(since))
        async for page in pages:
            yield page

    async def get(self, record_id: str) -> Record | None:
        try:
            member = await self.api.get(f"{self.members_path}/{record_id}", {"exclude_fields": "_links"})
        except MailchimpError as error:
            if error.not_found:
                return None
            raise
        return to_record(member)

    # writing

    async def upsert(self, requests: Sequence[WriteRequest]) -> builtins.list[WriteResult]:
        if any(request.id is not None for request in requests):
            self.follower.give_up()  # an update merges into the member as it is: it may carry someone's edit
        try:
            outcomes = await self.writer.write(requests)
        except BaseException:
            self.follower.give_up()  # answers lost: what landed is unknown
            raise
        results: builtins.list[WriteResult] = []
        added: builtins.list[Record] = []
        for request in requests:
            outcome = outcomes[request.key]
            if outcome.member is None:
                results.append(WriteResult(key=request.key, id=request.id, error=outcome.error or "not written"))
                continue
            record = to_record(outcome.member)
            results.append(WriteResult(key=request.key, id=record.id, record=record))
            if request.id is None and outcome.added:
                added.append(record)
            elif request.id is None:
                self.follower.give_up()  # the address was there already: the PUT updated someone's member
        self.follower.created(added)
        return results

    async def cursor_after_writes(self, cursor: Any) -> Any:
        """Past this run's own creates, when a listing after its last write shows nothing else (follow.py)."""
        follower, self.follower = self.follower, self._fresh_follower()  # one run's creates, checked once
        return await follower.cursor_after(cursor) if isinstance(cursor, str) else cursor

    async def tag(self, record_id: str, tag: str) -> None:
        await self._tag(record_id, tag, "active")

    async def untag(self, record_id: str, tag: str) -> None:
        await self._tag(record_id, tag, "inactive")

    async def _tag(self, record_id: str, tag: str, status: str) -> None:
        """Member tags are set by name; an active tag set again, or an absent one made inactive, changes nothing."""
        self.follower.give_up()  # a tag change moves the member's last_changed
        body = {"tags": [{"name": tag, "status": status}]}
        try:
            await self.api.send("POST", f"{self.members_path}/{record_id}/tags", body)
        except MailchimpError as error:
            if error.not_found:
                raise LookupError(f"cannot tag {record_id}: no such member in the audience") from None
            raise

    async def aclose(self) -> None:
        await self.api.aclose()

    # webhooks

    def verify_webhook_at(self, token: str | None, headers: Mapping[str, str], body: bytes) -> builtins.list[str]:
        expected = self.settings.webhook_token.get_secret_value() if self.settings.webhook_token else None
        return member_ids(expected, token, self.settings.list_id, body)

    def webhook_check(self, token: str) -> bool:
        expected = self.settings.webhook_token.get_secret_value() if self.settings.webhook_token else None
        return token_matches(expected, token)

    @classmethod
    def auth_failure(cls, error: BaseException) -> bool:
        """401: the API key was revoked or the OAuth token withdrawn (a 403 is a missing permission)."""
        return key_refused(error) or super().auth_failure(error)

    @classmethod
    def sandbox(cls) -> type[Sandbox] | None:
        from connectors.mailchimp.sandbox import MailchimpSandbox

        return MailchimpSandbox
