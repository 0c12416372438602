"""The connector conformance suite: subclass `ConnectorContract` in your connector's tests.

Provide two fixtures and three class attributes:

- `connector_factory`: a callable returning a fresh connector for the account under test
  (for HTTP connectors, pointed at the sandbox);
- `outside`: an object with `add_record(fields) -> id`, `update_record(id, fields)` and
  `delete_record(id)` that changes the app as a user would (a Sandbox has these);
- `sample_fields`, `changed_fields`: writable flat fields for a create and for an update;
- `email_field`: the connector's email field (a unique address is added to every create);
- `rejected_fields`: fields the app refuses for one record (or None when nothing is refused);
- `raw_tags(outside, record_id)`: the tags as the app itself stores them, duplicates kept
  (a Notes line, label memberships, a metadata key), so tagging twice is seen to store one.

Every test drives the connector's real code; nothing of the connector is replaced.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

import pytest

from engine.connector import ChangeFeed, Connector
from engine.records import Record, WriteRequest

T = TypeVar("T")


class Outside(Protocol):
    def add_record(self, fields: dict[str, Any]) -> str: ...
    def update_record(self, record_id: str, fields: dict[str, Any]) -> None: ...
    def delete_record(self, record_id: str) -> None: ...


def run(factory: Callable[[], Connector], body: Callable[[Connector], Awaitable[T]]) -> T:
    """Run `body` with a fresh connector in its own event loop, closing it afterwards."""
    return drive(factory(), body)


C = TypeVar("C", bound=Connector)


def drive(connector: C, body: Callable[[C], Awaitable[T]]) -> T:
    """Run `body` with this connector in a fresh event loop and close the connector afterwards."""

    async def main() -> T:
        try:
            return await body(connector)
        finally:
            await connector.aclose()

    return asyncio.run(main())


async def collect(connector: Connector, since: Any = None) -> tuple[dict[str, Record], Any, bool]:
    """Every record of a listing by id, the cursor of its last page, and whether it was full."""
    records: dict[str, Record] = {}
    cursor: Any = None
    full = True
    pages = 0
    async for page in connector.list(since):
        pages += 1
        full = full and page.full
        for record in page.records:
            records[record.id] = record
        if page.last:
            cursor = page.cursor
    assert pages >= 1, "list() must yield at least one page, even when empty"
    return records, cursor, full


def unique_email() -> str:
    return f"contract-{uuid.uuid4().hex[:10]}@example.com"


class ConnectorContract:
    sample_fields: dict[str, Any] = {"name": "Ada Lovelace"}
    changed_fields: dict[str, Any] = {"name": "Ada King"}
    rejected_fields: dict[str, Any] | None = None
    email_field: str = "email"

    def fields_for_create(self) -> dict[str, Any]:
        return {**self.sample_fields, self.email_field: unique_email()}

    @staticmethod
    def go(factory: Callable[[], Connector], body: Callable[[Connector], Coroutine[Any, Any, T]]) -> T:
        return run(factory, body)

    def test_declares_schema_and_capabilities(self, connector_factory: Callable[[], Connector]) -> None:
        cls = type(connector_factory())
        assert cls.name and cls.schema.names(), "a connector declares a name and its fields"
        assert cls.capabilities.batch_size >= 1
        assert cls.capabilities.rate_limit.requests > 0
        assert cls.schema.has(cls.match_field), "the match field must be one of the connector's fields"

    def test_origin_stamp_round_trips(self, connector_factory: Callable[[], Connector]) -> None:
        """The origin stamp written on create comes back from `get` and from a listing: it is how the engine
        recognises its own creates after a lost answer, a killed run or a lost state store."""
        stamp = type(connector_factory()).origin_field
        if stamp is None:
            pytest.skip("this app keeps no origin stamp: creates without a match value need an opt-in")
        assert type(connector_factory()).schema.writable(stamp), f"origin_field {stamp} must be a writable field"
        origin = f"origin-{uuid.uuid4().hex[:12]}"
        fields = {**self.fields_for_create(), stamp: origin}

        async def body(connector: Connector) -> None:
            [result] = await connector.upsert([WriteRequest(key=uuid.uuid4().hex, id=None, fields=fields)])
            assert result.ok and result.id, result.error
            fetched = await connector.get(result.id)
            assert fetched is not None and fetched.get(stamp) == origin, f"get() lost the stamp {stamp}"
            listed, _, _ = await collect(connector)
            assert listed[result.id].get(stamp) == origin, f"list() lost the stamp {stamp}"

        self.go(connector_factory, body)

    def test_create_then_get(self, connector_factory: Callable[[], Connector]) -> None:
        fields = self.fields_for_create()

        async def body(connector: Connector) -> None:
            [result] = await connector.upsert([WriteRequest(key=uuid.uuid4().hex, id=None, fields=fields)])
            assert result.ok and result.id, result.error
            fetched = await connector.get(result.id)
            assert fetched is not None and fetched.id == result.id
            for name, value in fields.items():
                assert fetched.get(name) == value, f"{name}: wrote {value!r}, read {fetched.get(name)!r}"

        self.go(connector_factory, body)

    def test_sparse_update_changes_only_named_fields(self, connector_factory: Callable[[], Connector]) -> None:
        fields = self.fields_for_create()

        async def body(connector: Connector) -> None:
            [created] = await connector.upsert([WriteRequest(key=uuid.uuid4().hex, id=None, fields=fields)])
            assert created.id is not None
            [updated] = await connector.upsert(
                [WriteRequest(key=uuid.uuid4().hex, id=created.id, fields=self.changed_fields)]
            )
            assert updated.ok, updated.error
            fetched = await connector.get(created.id)
            assert fetched is not None
            for name, value in self.changed_fields.items():
                assert fetched.get(name) == value
            for name in fields.keys() - self.changed_fields.keys():
                assert fetched.get(name) == fields[name], f"{name} was not named in the update and must stay"

        self.go(connector_factory, body)

    def test_get_missing_returns_none(self, connector_factory: Callable[[], Connector]) -> None:
        async def body(connector: Connector) -> None:
            missing = await connector.get(self.missing_id())
            assert missing is None or missing.deleted

        self.go(connector_factory, body)

    def missing_id(self) -> str:
        return "does-not-exist-0000"

    def test_full_listing_has_every_record_and_a_cursor(
        self, connector_factory: Callable[[], Connector], outside: Outside
    ) -> None:
        ids = {outside.add_record(self.fields_for_create()) for _ in range(3)}

        async def body(connector: Connector) -> None:
            records, cursor, full = await collect(connector)
            assert ids <= set(records), "a full listing returns every record"
            assert full, "pages of a listing from no cursor are marked full"
            if type(connector).capabilities.change_feed is not ChangeFeed.FULL_SCAN:
                assert cursor is not None, "the last page carries the cursor for the next read"

        self.go(connector_factory, body)

    def test_incremental_read_sees_outside_changes(
        self, connector_factory: Callable[[], Connector], outside: Outside
    ) -> None:
        record_id = outside.add_record(self.fields_for_create())

        async def first(connector: Connector) -> Any:
            return (await collect(connector))[1]

        cursor = self.go(connector_factory, first)
        self.settle()
        outside.update_record(record_id, dict(self.changed_fields))
        self.settle()

        async def second(connector: Connector) -> None:
            records, _next_cursor, _ = await collect(connector, cursor)
            assert record_id in records, "an edit after the cursor shows up in the next incremental read"
            for name, value in self.changed_fields.items():
                assert records[record_id].get(name) == value

        self.go(connector_factory, second)

    def test_deletion_is_signalled(self, connector_factory: Callable[[], Connector], outside: Outside) -> None:
        record_id = outside.add_record(self.fields_for_create())

        async def first(connector: Connector) -> Any:
            return (await collect(connector))[1]

        cursor = self.go(connector_factory, first)
        self.settle()
        outside.delete_record(record_id)
        self.settle()

        async def second(connector: Connector) -> None:
            records, _, full = await collect(connector, cursor)
            deleted = record_id in records and records[record_id].deleted
            assert deleted or (full and record_id not in records), "a deleted record is flagged or gone"

        self.go(connector_factory, second)

    def test_batch_returns_one_result_per_request_in_order(self, connector_factory: Callable[[], Connector]) -> None:
        count = min(type(connector_factory()).capabilities.batch_size + 1, 30)
        requests = [WriteRequest(key=uuid.uuid4().hex, id=None, fields=self.fields_for_create()) for _ in range(count)]

        async def body(connector: Connector) -> None:
            results = await connector.upsert(requests)
            assert [r.key for r in results] == [r.key for r in requests]
            assert all(r.ok for r in results), [r.error for r in results if not r.ok]
            assert len({r.id for r in results}) == count

        self.go(connector_factory, body)

    def test_one_bad_record_fails_alone(self, connector_factory: Callable[[], Connector]) -> None:
        if self.rejected_fields is None:
            pytest.skip("this app refuses no field values")
        good = WriteRequest(key=uuid.uuid4().hex, id=None, fields=self.fields_for_create())
        bad = WriteRequest(key=uuid.uuid4().hex, id=None, fields={**self.fields_for_create(), **self.rejected_fields})

        async def body(connector: Connector) -> None:
            results = await connector.upsert([good, bad])
            assert results[0].ok and not results[1].ok
            assert results[1].error, "a failed record says why"

        self.go(connector_factory, body)

    def test_idempotent_create(self, connector_factory: Callable[[], Connector]) -> None:
        if not type(connector_factory()).capabilities.idempotency:
            pytest.skip("this app has no idempotency keys")
        request = WriteRequest(key=uuid.uuid4().hex, id=None, fields=self.fields_for_create())

        async def body(connector: Connector) -> None:
            [first] = await connector.upsert([request])
            [again] = await connector.upsert([request])
            assert first.id == again.id, "the same key never creates a second record"

        self.go(connector_factory, body)

    def raw_tags(self, outside: Any, record_id: str) -> list[str]:
        """The record's tags as the app stores them, one entry per stored copy; override for your app."""
        raise NotImplementedError(f"{type(self).__name__} must say how its app stores tags (raw_tags)")

    def test_tags_are_idempotent_and_read_back(self, connector_factory: Callable[[], Connector], outside: Any) -> None:
        if not type(connector_factory()).capabilities.tags:
            pytest.skip("this app has no tags")
        raw: dict[str, list[str]] = {}

        async def body(connector: Connector) -> None:
            [created] = await connector.upsert(
                [WriteRequest(key=uuid.uuid4().hex, id=None, fields=self.fields_for_create())]
            )
            assert created.id is not None
            await connector.tag(created.id, "pairsync Trash")
            await connector.tag(created.id, "pairsync Trash")
            raw["tagged"] = self.raw_tags(outside, created.id)
            tagged = await connector.get(created.id)
            assert tagged is not None and "pairsync Trash" in tagged.tags
            await connector.untag(created.id, "pairsync Trash")
            await connector.untag(created.id, "pairsync Trash")
            raw["untagged"] = self.raw_tags(outside, created.id)
            untagged = await connector.get(created.id)
            assert untagged is not None and "pairsync Trash" not in untagged.tags

        self.go(connector_factory, body)
        assert raw["tagged"].count("pairsync Trash") == 1, f"the app stores the tag once: {raw['tagged']}"
        assert "pairsync Trash" not in raw["untagged"], f"the app no longer stores the tag: {raw['untagged']}"

    def settle(self) -> None:
        """Wait until changes show in the change feed (override for feeds keyed by time)."""
