"""The Google Contacts connector: People API v1 contacts of one Google account.

Reads page through `people/me/connections`; the sync token on the last page
is the cursor, stored together with the request parameters that produced
it, because Google refuses a sync token sent with different parameters.
Writes are in `writes.py`, tags (contact groups) in `groups.py`, the
JSON <-> flat field mapping in `people.py`.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

from connectors.google_contacts import people
from connectors.google_contacts.api import GoogleApiError, Json, PeopleApi
from connectors.google_contacts.checks import run_checks
from connectors.google_contacts.follow import Follower
from connectors.google_contacts.groups import Labels
from connectors.google_contacts.settings import CONTACTS_SCOPE, GoogleContactsSettings
from connectors.google_contacts.writes import BATCH_SIZE, READ_MASK, Writer, failure
from engine.connector import (
    Capabilities,
    ChangeFeed,
    Connector,
    ConnectorContext,
    ConnectorSettings,
    OAuthApp,
    PermissionCheck,
    RateLimit,
    RecordKind,
    Sandbox,
)
from engine.records import Page, Record, WriteRequest, WriteResult

CONNECTIONS = "/v1/people/me/connections"
EXPIRED_NOTE = "Google sync token expired (EXPIRED_SYNC_TOKEN): full listing"


class GoogleContactsConnector(Connector):
    """Contacts in Google Contacts; labels are tags, sync tokens are the change feed."""

    name = "google_contacts"
    kind = RecordKind.CONTACT
    schema = people.SCHEMA
    capabilities = Capabilities(
        tags=True,
        batch_size=200,
        rate_limit=RateLimit(requests=90, per_seconds=60.0, max_concurrency=1),
        change_feed=ChangeFeed.SYNC_TOKEN,
        idempotency=False,
        deletion_signal=True,
        unsubscribe_signal=False,
        source_of_truth=False,
    )
    settings_model: ClassVar[type[ConnectorSettings]] = GoogleContactsSettings
    identity_settings = ("base_url", "client_id", "refresh_token")
    match_field = "email"
    origin_field = people.ORIGIN  # the contact's clientData, which Google keeps for the writing client
    settings: GoogleContactsSettings

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext) -> None:
        if not isinstance(settings, GoogleContactsSettings):
            raise TypeError("GoogleContactsConnector needs GoogleContactsSettings")
        super().__init__(settings, context)
        self.api = PeopleApi(settings, context)
        self.labels = Labels(self.api)
        self.writer = Writer(self.api, settings.default_region)
        # Where this run's last listing left the feed; dropped once the run writes something a follower
        # cannot recognise (follow.py), so that no follower starts after it.
        self.feed_end: tuple[dict[str, Any], str] | None = None
        self.follower: Follower | None = None

    async def check(self, writes: bool) -> builtins.list[PermissionCheck]:
        return await run_checks(self.api, self.context.account, writes)

    @classmethod
    def oauth(cls, settings: ConnectorSettings) -> OAuthApp | None:
        """Google's installed-app flow; offline access and a consent prompt so a refresh token always comes back."""
        assert isinstance(settings, GoogleContactsSettings)
        return OAuthApp(
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            authorization_url=settings.authorization_url,
            token_url=settings.token_url,
            scopes=(CONTACTS_SCOPE,),
            authorization_params={"access_type": "offline", "prompt": "consent"},
        )

    def __repr__(self) -> str:
        return f"GoogleContactsConnector(account={self.context.account!r}, base_url={self.settings.api_url!r})"

    # reading

    def list_params(self) -> dict[str, str | int | list[str]]:
        """The parameters of a full listing; repeated unchanged with its sync token later."""
        return {"personFields": READ_MASK, "pageSize": self.settings.page_size, "requestSyncToken": "true"}

    async def list(self, since: Any = None) -> AsyncIterator[Page]:
        if since is not None:
            params, token = _from_cursor(since)
            try:
                async for page in self._pages(params, token, full=False, note=None):
                    yield page
                return
            except GoogleApiError as error:
                if not (error.is_expired_sync_token or error.is_refused_sync_token):
                    raise
                note = EXPIRED_NOTE if error.is_expired_sync_token else (
                    f"Google refused the sync token ({error.message}), as it does one from another account: "
                    "full listing"
                )
        else:
            note = None
        async for page in self._pages(self.list_params(), None, full=True, note=note):
            yield page

    async def _pages(self, params: dict[str, Any], sync_token: str | None, full: bool, note: str | None
                     ) -> AsyncIterator[Page]:
        page_token: str | None = None
        while True:
            query = dict(params)
            if sync_token:
                query["syncToken"] = sync_token
            if page_token:
                query["pageToken"] = page_token
            answer = await self.api.read(CONNECTIONS, query)
            records = [await self.to_record(person) for person in answer.get("connections") or []]
            page_token = answer.get("nextPageToken")
            if page_token:
                yield Page(records=records, full=full, note=note)
                continue
            next_token = answer.get("nextSyncToken")
            cursor = {"token": next_token, "params": params} if next_token else None
            self.feed_end = (params, next_token) if next_token else None
            yield Page(records=records, cursor=cursor, last=True, full=full, note=note)
            return

    async def get(self, record_id: str) -> Record | None:
        try:
            person = await self.api.read(f"/v1/{record_id}", {"personFields": READ_MASK})
        except GoogleApiError as error:
            if error.code in (400, 404) and error.status in ("NOT_FOUND", "INVALID_ARGUMENT"):
                return None
            raise
        return await self.to_record(person)

    async def to_record(self, person: Json) -> Record:
        metadata = person.get("metadata") or {}
        if metadata.get("deleted"):
            return Record(id=person["resourceName"], fields={}, deleted=True,
                          previous_ids=tuple(metadata.get("previousResourceNames") or ()))
        return Record(
            id=person["resourceName"],
            fields=people.to_fields(person, self.settings.default_region),
            updated=_updated(metadata),
            tags=await self.labels.tags_of(person),
            previous_ids=tuple(metadata.get("previousResourceNames") or ()),
        )

    # writing

    async def upsert(self, requests: Sequence[WriteRequest]) -> builtins.list[WriteResult]:
        if any(request.id is not None for request in requests):
            self._stop_following()  # an update merges into the contact as it is: it may carry someone's edit
        outcomes = await self.writer.write(requests)
        results: builtins.list[WriteResult] = []
        for request in requests:
            outcome = outcomes[request.key]
            if outcome.person is None:
                results.append(WriteResult(key=request.key, id=request.id, error=outcome.error or "not written"))
                continue
            try:
                record = await self.to_record(outcome.person)
            except GoogleApiError as error:
                results.append(WriteResult(key=request.key, id=outcome.person.get("resourceName"),
                                           error=f"written, but reading labels failed: {failure(error)}"))
                continue
            results.append(WriteResult(key=request.key, id=record.id, record=record))
        self._follow([outcomes[r.key].person for r, done in zip(requests, results, strict=True)
                      if r.id is None and done.error is None])
        return results

    def _follow(self, created: builtins.list[Json | None]) -> None:
        """Note the contacts this write call created; the first creates start following the feed."""
        if self.feed_end is None:
            return
        if self.follower is None:
            params, token = self.feed_end
            self.follower = Follower(self.api, params, token, every=self.settings.page_size - 2 * BATCH_SIZE)
        self.follower.created(person for person in created if person is not None)

    def _stop_following(self) -> None:
        self.feed_end = None
        if self.follower is not None:
            self.follower.give_up()

    async def cursor_after_writes(self, cursor: Any) -> Any:
        """Past this run's own creates, when the follower saw nothing else since the read (follow.py)."""
        if self.follower is None:
            return cursor
        token = await self.follower.finish()
        params, read_token = _from_cursor(cursor)
        return {"token": token, "params": params} if token and read_token == self.follower.start else cursor

    async def tag(self, record_id: str, tag: str) -> None:
        self._stop_following()  # a label change is a change of the contact, with a new etag
        async with self.api.mutations:
            group = await self.labels.ensure(tag)
            answer = await self.labels.modify(group, add=[record_id])
        if record_id in (answer.get("notFoundResourceNames") or []):
            raise LookupError(f"cannot tag {record_id}: no such contact")

    async def untag(self, record_id: str, tag: str) -> None:
        self._stop_following()
        async with self.api.mutations:
            group = await self.labels.find(tag)
            if group is not None:
                await self.labels.modify(group, remove=[record_id])

    async def aclose(self) -> None:
        if self.follower is not None:
            await self.follower.aclose()
        await self.api.aclose()

    @classmethod
    def sandbox(cls) -> type[Sandbox] | None:
        from connectors.google_contacts.sandbox import GoogleContactsSandbox

        return GoogleContactsSandbox


def _from_cursor(cursor: Any) -> tuple[dict[str, Any], str]:
    """The request parameters and sync token a cursor holds."""
    if not isinstance(cursor, dict) or not isinstance(cursor.get("token"), str):
        raise ValueError("a google_contacts cursor is {'token': ..., 'params': {...}}")
    return dict(cursor.get("params") or {}), cursor["token"]


def _updated(metadata: Json) -> datetime | None:
    """The latest updateTime of the person's sources (RFC 3339)."""
    times = [s["updateTime"] for s in metadata.get("sources") or [] if s.get("updateTime")]
    if not times:
        return None
    try:
        return max(datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times)
    except ValueError:
        return None
