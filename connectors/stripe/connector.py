"""The Stripe connector: customers with subscription-derived fields, read through events.

Every request goes through the official SDK (`StripeClient`, async methods)
over the engine's transport. Reads turn customers and their subscriptions
into flat records; writes are sparse and concurrent, creates idempotent.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import copy
import dataclasses
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

import stripe
from pydantic import BaseModel

from engine.connector import (
    Capabilities,
    ChangeFeed,
    ChangeTimes,
    Connector,
    ConnectorContext,
    ConnectorSettings,
    PermissionCheck,
    RateLimit,
    RecordKind,
    Sandbox,
    Unreachable,
)
from engine.records import Page, Record, WriteRequest, WriteResult

from . import webhooks
from .checks import run_checks
from .client import EngineHTTPXClient, build_client, build_transport
from .events import (
    EVENTS_UNAVAILABLE,
    OWN_UPDATE_PREFIX,
    Changes,
    CursorExpired,
    EventsCursor,
    changes_since,
    latest_cursor,
)
from .fields import (
    MAX_METADATA_VALUE_LENGTH,
    STRIPE_SCHEMA,
    TAGS_KEY,
    FieldError,
    customer_params,
    format_tags,
    parse_tags,
    to_record,
)
from .listing import Customer, customer_pages
from .rules import StripeConnectionOptions, skip_reason
from .settings import TEST_KEY_REQUESTS_PER_SECOND, StripeSettings
from .subscriptions import CUSTOMER_EXPAND, LIST_EXPAND, Sub, SubscriptionReader
from .writes import describe_error

if TYPE_CHECKING:
    from stripe._request_options import RequestOptions
    from stripe.params import CustomerCreateParams, CustomerUpdateParams

PAGE_SIZE = 100


class StripeConnector(Connector):
    """Stripe customers; the usual source of truth for the people it bills."""

    name = "stripe"
    kind = RecordKind.CUSTOMER
    schema = STRIPE_SCHEMA
    capabilities = Capabilities(
        tags=True,
        batch_size=1,
        rate_limit=RateLimit(requests=TEST_KEY_REQUESTS_PER_SECOND, max_concurrency=8),
        change_feed=ChangeFeed.EVENTS,
        change_times=ChangeTimes.CHANGE_FEED,
        idempotency=True,
        deletion_signal=True,
        unsubscribe_signal=False,
        source_of_truth=True,
        source_of_truth_reason=(
            "Stripe sends receipts and invoices to the customer's email: "
            "an edit in the other app would change where they go"
        ),
    )
    settings_model = StripeSettings
    identity_settings = ("base_url", "api_key")
    match_field = "email"
    origin_field = "metadata.pairsync_origin"  # customer metadata: written on create, returned on every read
    connection_options: ClassVar[type[BaseModel] | None] = StripeConnectionOptions
    settings: StripeSettings

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext) -> None:
        if not isinstance(settings, StripeSettings):
            settings = StripeSettings.model_validate(settings.model_dump())
        super().__init__(settings, context)
        self.transport = build_transport(settings, context)
        self.http = EngineHTTPXClient(self.transport, settings.timeout_seconds)
        self.client = build_client(settings, self.http)
        self.subscriptions = SubscriptionReader(self.client)

    def __repr__(self) -> str:
        return f"StripeConnector(account={self.context.account!r}, base_url={self.settings.api_base()!r})"

    async def list(self, since: Any = None) -> AsyncIterator[Page]:
        try:
            async for page in self._list(since):
                yield page
        except stripe.APIConnectionError as error:  # the SDK's text names neither the account nor the URL
            raise Unreachable(str(getattr(error, "user_message", None) or error).splitlines()[-1]) from None

    async def _list(self, since: Any = None) -> AsyncIterator[Page]:
        note: str | None = None
        if since is not None:
            try:
                cursor = EventsCursor.parse(since)
                changes = await changes_since(self.client, cursor, read_subscriptions=self.settings.read_subscriptions)
            except CursorExpired as expired:
                note = str(expired)
            else:
                async for page in self._changed_pages(changes):
                    yield page
                return
        async for page in self._full_listing(note):
            yield page

    async def _full_listing(self, note: str | None) -> AsyncIterator[Page]:
        """Every live customer, its current subscriptions expanded on the same pages.

        The cursor is taken first, so changes during the listing show next
        time. Each page is yielded one step behind, so the last one carries
        the cursor.
        """
        cursor = await latest_cursor(self.client)
        if cursor is None:
            note = EVENTS_UNAVAILABLE
        held: builtins.list[Record] | None = None
        async with contextlib.aclosing(self._listed_pages()) as listed:
            async for records in listed:
                if held is not None:
                    yield Page(records=held, full=True, note=note)
                held = records
        final = cursor.to_json() if cursor is not None else None
        yield Page(records=held or [], cursor=final, last=True, full=True, note=note)

    async def _listed_pages(self) -> AsyncGenerator[builtins.list[Record]]:
        """The customer pages as records, with canceled subscriptions for the customers that have no current one.

        Canceled subscriptions are listed alongside the customers. Until they
        are all in, customer pages go on being listed and are kept as they came
        (waiting for them would stop the listing: a sequential one outright, a
        split one once its queue is full); then the kept pages become records.
        Keeping them costs no more memory than the records the engine keeps of
        a full listing anyway, and only until the shorter listing ends.
        """
        derived = self.settings.read_subscriptions
        canceled_listing = self.subscriptions.canceled_by_customer() if derived else None
        pending = asyncio.create_task(canceled_listing) if canceled_listing is not None else None
        expand = LIST_EXPAND if derived else None
        kept: deque[builtins.list[Customer]] = deque()
        try:
            async for customers in customer_pages(self.client, self.settings.partitions, expand):
                kept.append(customers)
                if pending is not None and not pending.done():
                    continue
                canceled = pending.result() if pending is not None else None  # raises what the listing raised
                while kept:
                    yield [await self._listed(c, canceled) for c in kept.popleft()]
            canceled = await pending if pending is not None else None
            while kept:
                yield [await self._listed(c, canceled) for c in kept.popleft()]
        finally:
            if pending is not None:
                pending.cancel()

    async def _listed(
        self, customer: builtins.dict[str, Any], canceled: Mapping[str, builtins.list[Sub]] | None
    ) -> Record:
        if canceled is None:
            return self._record(customer, None)
        return self._record(customer, await self.subscriptions.of(customer, canceled))

    async def _changed_pages(self, changes: Changes) -> AsyncIterator[Page]:
        """The current state of every customer the events named, taken from the events where they tell it.

        Each record carries the time of the newest event naming it as `updated`
        (records from a full listing carry none: Stripe keeps no modification time).
        """
        ids, cursor = changes.ids, changes.cursor
        chunks = [ids[start : start + PAGE_SIZE] for start in range(0, len(ids), PAGE_SIZE)] or [[]]
        for number, chunk in enumerate(chunks):
            fetched = await asyncio.gather(*(self._current(cid, changes) for cid in chunk))
            last = number == len(chunks) - 1
            final_cursor = cursor.to_json() if last and cursor else None
            records = [_timed(r, changes.changed_at.get(r.id)) for r in fetched if r is not None]
            yield Page(records=records, cursor=final_cursor, last=last)

    async def _current(self, customer_id: str, changes: Changes) -> Record | None:
        """From the events: the customer as the newest full-object event carries it; requests only for what
        they cannot give (a customer named by subscription events alone; subscriptions of a customer created
        before the window, whose other subscriptions the feed never showed)."""
        if customer_id in changes.deleted:
            return Record(id=customer_id, fields={}, deleted=True)
        customer = changes.objects.get(customer_id)
        if customer is None:
            return await self.get(customer_id)
        customer = {key: value for key, value in customer.items() if key != "subscriptions"}
        if not self.settings.read_subscriptions:
            return self._record(customer, None)
        if customer_id in changes.born:
            found = copy.deepcopy(list(changes.subscriptions.get(customer_id, {}).values()))
        else:
            found = await self.subscriptions.listed(customer_id)  # one request: every status, items and prices
        await self.subscriptions.catalogue.stitch(found)
        return self._record(customer, found)

    def _record(self, customer: Mapping[str, Any], subscriptions: Sequence[Mapping[str, Any]] | None) -> Record:
        return to_record(customer, subscriptions, self.settings.lifecycle_stages)

    async def _customer(self, customer_id: str, expand: bool = False) -> builtins.dict[str, Any] | None:
        """The customer as a dict (deleted ones come back flagged); None when Stripe never had it."""
        params: builtins.dict[str, Any] = {"expand": CUSTOMER_EXPAND} if expand else {}
        try:
            customer = await self.client.v1.customers.retrieve_async(customer_id, params)  # type: ignore[arg-type]
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise
        return customer.to_dict()

    async def get(self, record_id: str) -> Record | None:
        """One request: the customer with its current subscriptions expanded (plus a probe when it has none)."""
        derived = self.settings.read_subscriptions
        customer = await self._customer(record_id, expand=derived)
        if customer is None:
            return None
        return await self._with_subscriptions(customer)

    async def _with_subscriptions(self, customer: builtins.dict[str, Any]) -> Record:
        if customer.get("deleted") or not self.settings.read_subscriptions:
            return self._record(customer, None)
        return self._record(customer, await self.subscriptions.of(customer))

    async def upsert(self, requests: Sequence[WriteRequest]) -> builtins.list[WriteResult]:
        """Writes run concurrently (Stripe has no batch write); each fails alone."""
        return list(await asyncio.gather(*(self._write(request) for request in requests)))

    async def _write(self, request: WriteRequest) -> WriteResult:
        try:
            if request.id is None:
                record = await self._create(request)
            else:
                record = await self._update(request.id, request.fields)
        except stripe.AuthenticationError:
            raise  # the key, not this record: the engine stops the run and marks the account
        except (FieldError, stripe.StripeError) as error:
            return WriteResult(key=request.key, id=request.id, error=describe_error(error))
        return WriteResult(key=request.key, id=record.id, record=record)

    async def _create(self, request: WriteRequest) -> Record:
        """A create carries the journal key as Idempotency-Key: a retry returns the same customer."""
        params = cast("CustomerCreateParams", customer_params(request.fields))
        customer = await self.client.v1.customers.create_async(params, {"idempotency_key": request.key})
        return self._record(customer.to_dict(), [] if self.settings.read_subscriptions else None)

    async def _update(self, customer_id: str, fields: Mapping[str, Any]) -> Record:
        current_address = None
        if any(name.startswith("address.") for name in fields):
            current = await self._customer(customer_id)
            current_address = (current or {}).get("address")
        params = customer_params(fields, current_address)
        options: RequestOptions = {"idempotency_key": f"{OWN_UPDATE_PREFIX}{uuid.uuid4().hex}"}
        if self.settings.read_subscriptions:
            params["expand"] = CUSTOMER_EXPAND  # the answer carries what the derived fields need
        customer = await self.client.v1.customers.update_async(
            customer_id, cast("CustomerUpdateParams", params), options
        )
        return await self._with_subscriptions(customer.to_dict())

    async def tag(self, record_id: str, tag: str) -> None:
        await self._set_tags(record_id, lambda tags: tags | {_checked_tag(tag)})

    async def untag(self, record_id: str, tag: str) -> None:
        await self._set_tags(record_id, lambda tags: tags - {tag})

    async def _set_tags(self, record_id: str, change: Any) -> None:
        """Read, change and write the tags key only when the set changes (idempotent)."""
        customer = await self._customer(record_id)
        if customer is None or customer.get("deleted"):
            raise LookupError(f"stripe: customer {record_id} does not exist")
        tags = parse_tags(customer.get("metadata") or {})
        wanted: frozenset[str] = frozenset(change(tags))
        if wanted == tags:
            return
        value = format_tags(wanted)
        if len(value) > MAX_METADATA_VALUE_LENGTH:
            raise ValueError(f"stripe: tags of {record_id} would exceed {MAX_METADATA_VALUE_LENGTH} characters")
        await self.client.v1.customers.update_async(record_id, {"metadata": {TAGS_KEY: value}})

    async def aclose(self) -> None:
        await self.http.aclose()

    async def check(self, writes: bool) -> builtins.list[PermissionCheck]:
        return await run_checks(self.client, writes, self.settings.read_subscriptions)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> builtins.list[str]:
        secret = self.settings.webhook_secret
        return webhooks.verify(self.client, secret.get_secret_value() if secret else None, headers, body)

    @classmethod
    def auth_failure(cls, error: BaseException) -> bool:
        """401: the key was rolled or deleted (a missing permission is a 403 and degrades instead)."""
        return isinstance(error, stripe.AuthenticationError) or super().auth_failure(error)

    @classmethod
    def skip_reason(cls, record: Record, options: BaseModel | None) -> str | None:
        return skip_reason(record, options)

    @classmethod
    def sandbox(cls) -> type[Sandbox] | None:
        from .sandbox import StripeSandbox

        return StripeSandbox


def _timed(record: Record, changed_at: int | None) -> Record:
    if changed_at is None:
        return record
    return dataclasses.replace(record, updated=datetime.fromtimestamp(changed_at, UTC))


def _checked_tag(tag: str) -> str:
    if "," in tag or not tag.strip():
        raise ValueError(f"stripe: tag {tag!r} cannot be empty or contain a comma (tags are stored comma-separated)")
    return tag.strip()
