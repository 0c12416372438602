"""The QuickBooks Online connector: customers over the v3 API.

Reads: full listing through the query endpoint, incremental through CDC.
Writes: batch creates and sparse updates (writes.py). Tags: a reserved line
in Notes (tags.py). Deletion: QuickBooks only makes customers inactive, so
`Active = false` (and CDC's `Deleted` status) flag a record as deleted.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from connectors.quickbooks import cdc, query, tags, webhooks
from connectors.quickbooks.api import QuickBooksApi
from connectors.quickbooks.checks import run_checks
from connectors.quickbooks.errors import STALE_SYNC_TOKEN, QuickBooksError
from connectors.quickbooks.fields import EMAIL, ORIGIN, SCHEMA, to_record
from connectors.quickbooks.settings import ACCOUNTING_SCOPE, QuickBooksSettings
from connectors.quickbooks.writes import Writer
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

WriteResults = list[WriteResult]  # aliases: inside the class body `list` is the method
RecordIds = list[str]
REALM_ID_KEY = "realm_id"


class QuickBooksConnector(Connector):
    name = "quickbooks"
    kind = RecordKind.CUSTOMER
    schema = SCHEMA
    capabilities = Capabilities(
        tags=True,
        batch_size=30,
        rate_limit=RateLimit(requests=500, per_seconds=60, max_concurrency=10),
        change_feed=ChangeFeed.CDC,
        idempotency=True,
        deletion_signal=True,
        unsubscribe_signal=False,
        source_of_truth=False,
    )
    settings_model = QuickBooksSettings
    identity_settings = ("base_url", "realm_id")
    match_field = EMAIL
    origin_field = ORIGIN  # a reserved line of Notes (see tags.py): QuickBooks customers have no custom fields
    settings: QuickBooksSettings

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext) -> None:
        if not isinstance(settings, QuickBooksSettings):
            raise TypeError("QuickBooksConnector needs QuickBooksSettings")
        if not settings.realm_id:  # connected with `pairsync connect`: the company came with the redirect
            settings = settings.model_copy(update={"realm_id": context.load_credential(REALM_ID_KEY) or ""})
        super().__init__(settings, context)
        self.api = QuickBooksApi(settings, context)
        self.writer = Writer(self.api, settings.batch_size)

    async def check(self, writes: bool) -> builtins.list[PermissionCheck]:
        return await run_checks(self.api, self.context.account)

    @classmethod
    def oauth(cls, settings: ConnectorSettings) -> OAuthApp | None:
        """Intuit's OAuth 2.0: the accounting scope; the redirect names the company (`realmId`)."""
        assert isinstance(settings, QuickBooksSettings)
        return OAuthApp(
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            authorization_url=settings.authorization_url,
            token_url=settings.token_url,
            scopes=(ACCOUNTING_SCOPE,),
            client_auth="basic",
            keep_from_redirect={"realmId": REALM_ID_KEY},
        )

    def __repr__(self) -> str:
        return f"QuickBooksConnector(realm_id={self.settings.realm_id!r})"

    async def list(self, since: Any = None) -> AsyncIterator[Page]:
        if since is None:
            async for page in self._full_listing(None):
                yield page
            return
        try:
            async for page in cdc.read_changes(self.api, since, self.settings.cdc_overlap_seconds):
                yield page
        except cdc.CursorExpired as expired:
            async for page in self._full_listing(str(expired)):
                yield page

    async def _full_listing(self, note: str | None) -> AsyncIterator[Page]:
        """Every active customer, 1000 a page; the cursor is when the listing started."""
        size = self.settings.page_size
        start = 1
        cursor: str | None = None
        while True:
            customers, server_time = await self.api.query(query.page(start, size))
            cursor = cursor or cdc.cursor_at(server_time, self.settings.cdc_overlap_seconds)
            last = len(customers) < size
            yield Page(records=[to_record(c) for c in customers], cursor=cursor if last else None, last=last,
                       full=True, note=note)
            if last:
                return
            start += size

    async def get(self, record_id: str) -> Record | None:
        customer = await self.api.read(record_id)
        return None if customer is None else to_record(customer)

    async def upsert(self, requests: Sequence[WriteRequest]) -> WriteResults:
        return await self.writer.upsert(requests)

    async def tag(self, record_id: str, tag: str) -> None:
        await self._retag(record_id, lambda current: current | {tag})

    async def untag(self, record_id: str, tag: str) -> None:
        await self._retag(record_id, lambda current: current - {tag})

    async def _retag(self, record_id: str, change: Callable[[frozenset[str]], frozenset[str]]) -> None:
        """Rewrite the reserved Notes line; no write when the tags already match; one retry if stale."""
        for attempt in range(2):
            customer = await self.api.read(record_id)
            if customer is None:
                raise QuickBooksError(f"customer {record_id} does not exist in QuickBooks")
            notes, current, stamp = tags.parse(customer.get("Notes"))
            wanted = change(current)
            if wanted == current:
                return
            text = tags.join(notes, wanted, stamp)
            body = {"Id": record_id, "SyncToken": customer["SyncToken"], "sparse": True, "Notes": text}
            digest = hashlib.sha256(f"{record_id}\n{customer['SyncToken']}\n{text}".encode()).hexdigest()
            try:
                await self.api.write(body, f"ps-tag-{digest[:36]}")
                return
            except QuickBooksError as error:
                if not (error.has(STALE_SYNC_TOKEN) and attempt == 0):
                    raise

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> RecordIds:
        token = self.settings.webhook_verifier_token
        return webhooks.verify(headers, body, token.get_secret_value() if token else None, self.settings.realm_id)

    async def aclose(self) -> None:
        await self.api.aclose()

    @classmethod
    def sandbox(cls) -> type[Sandbox] | None:
        from connectors.quickbooks.sandbox import QuickBooksSandbox

        return QuickBooksSandbox
