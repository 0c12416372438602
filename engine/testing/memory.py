"""An in-memory connector: the reference implementation of the contract.

Records live in a named `MemoryStore` (shared by every connector instance
that names it in the same process), optionally saved to a JSON file so that
separate `pairsync` processes see the same data. Used by the engine's tests,
by plugin authors as an example, and by the contract suite's self-test.
"""

from __future__ import annotations

import asyncio
import builtins
import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from engine.connector import (
    Capabilities,
    ChangeFeed,
    Connector,
    ConnectorContext,
    ConnectorSettings,
    CursorRefused,
    FieldSchema,
    FieldSpec,
    RateLimit,
    RecordKind,
)
from engine.hookspecs import hookimpl
from engine.records import Page, Record, WriteRequest, WriteResult

MEMORY_FIELDS = FieldSchema(
    fields=[
        FieldSpec("email"),
        FieldSpec("name"),
        FieldSpec("first_name"),
        FieldSpec("last_name"),
        FieldSpec("phone"),
        FieldSpec("company"),
        FieldSpec("description"),
        FieldSpec("created", read_only=True),
    ],
    custom_prefixes=("custom.",),
)


@dataclass
class StoredRecord:
    fields: dict[str, Any]
    tags: set[str] = field(default_factory=set)
    deleted: bool = False
    unsubscribed: bool = False
    seq: int = 0
    updated: str = ""


class MemoryStore:
    """The data behind one in-memory account, with a change sequence for incremental reads."""

    _named: ClassVar[dict[str, MemoryStore]] = {}
    _named_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.records: dict[str, StoredRecord] = {}
        self.idempotency: dict[str, str] = {}
        self.seq = 0
        self.fail_ids: set[str] = set()  # record ids or emails whose writes are refused
        self.lose_responses = 0  # this many writes are applied, then answered with a lost connection
        self._ids = itertools.count(1)
        if path is not None and path.exists():
            self._load(path)

    @classmethod
    def named(cls, name: str, path: Path | None = None) -> MemoryStore:
        with cls._named_lock:
            if name not in cls._named:
                cls._named[name] = cls(path)
            return cls._named[name]

    @classmethod
    def forget(cls, name: str | None = None) -> None:
        with cls._named_lock:
            if name is None:
                cls._named.clear()
            else:
                cls._named.pop(name, None)

    def _touch(self, stored: StoredRecord) -> None:
        self.seq += 1
        stored.seq = self.seq
        stored.updated = datetime.now(UTC).isoformat()

    def add(self, fields: Mapping[str, Any], record_id: str | None = None) -> str:
        record_id = record_id or self._new_id()
        stored = StoredRecord(fields={k: v for k, v in fields.items() if v is not None})
        self.records[record_id] = stored
        self._touch(stored)
        self.save()
        return record_id

    def _new_id(self) -> str:
        while True:
            candidate = f"mem_{next(self._ids)}"
            if candidate not in self.records:
                return candidate

    def edit(self, record_id: str, fields: Mapping[str, Any]) -> None:
        stored = self.records[record_id]
        for name, value in fields.items():
            if value is None:
                stored.fields.pop(name, None)
            else:
                stored.fields[name] = value
        self._touch(stored)
        self.save()

    def delete(self, record_id: str) -> None:
        stored = self.records[record_id]
        stored.deleted = True
        self._touch(stored)
        self.save()

    def unsubscribe(self, record_id: str) -> None:
        stored = self.records[record_id]
        stored.unsubscribed = True
        self._touch(stored)
        self.save()

    def set_tags(self, record_id: str, tags: set[str]) -> None:
        stored = self.records[record_id]
        if stored.tags != tags:
            stored.tags = tags
            self._touch(stored)
            self.save()

    def live(self) -> dict[str, StoredRecord]:
        return {rid: r for rid, r in self.records.items() if not r.deleted}

    def to_record(self, record_id: str) -> Record:
        stored = self.records[record_id]
        return Record(
            id=record_id,
            fields=dict(stored.fields),
            updated=datetime.fromisoformat(stored.updated) if stored.updated else None,
            deleted=stored.deleted,
            tags=frozenset(stored.tags),
            unsubscribed=stored.unsubscribed,
        )

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "seq": self.seq,
            "idempotency": self.idempotency,
            "records": {
                rid: {
                    "fields": r.fields,
                    "tags": sorted(r.tags),
                    "deleted": r.deleted,
                    "unsubscribed": r.unsubscribed,
                    "seq": r.seq,
                    "updated": r.updated,
                }
                for rid, r in self.records.items()
            },
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(self.path)

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.seq = data["seq"]
        self.idempotency = data["idempotency"]
        for rid, raw in data["records"].items():
            self.records[rid] = StoredRecord(
                fields=raw["fields"],
                tags=set(raw["tags"]),
                deleted=raw["deleted"],
                unsubscribed=raw.get("unsubscribed", False),
                seq=raw["seq"],
                updated=raw["updated"],
            )

    def fill(self, seed: Path) -> None:
        """Add the records of a seed file: a JSON list of flat field mappings, each with optional `tags`."""
        for raw in json.loads(seed.read_text(encoding="utf-8")):
            fields = {k: v for k, v in raw.items() if k != "tags"}
            record_id = self.add(fields)
            if raw.get("tags"):
                self.set_tags(record_id, set(raw["tags"]))

    def reload(self) -> None:
        """Pick up what another process wrote to the file."""
        if self.path is not None and self.path.exists():
            self.records.clear()
            self._load(self.path)


class MemorySettings(ConnectorSettings):
    store: str = "default"
    file: str | None = None
    seed: str | None = None
    """A JSON file with a list of records (`{"email": ..., "name": ..., "tags": [...]}`) that fills the store
    the first time it is opened empty; the store then lives in `file` (docs/memory.md)."""
    page_size: int = 50
    tags: bool = True
    idempotency: bool = True
    source_of_truth: bool = False
    latency_ms: float = 0.0  # each request waits this long, as an app's API would (benchmarks of I/O-bound runs)


class MemoryConnector(Connector):
    """Contacts kept in memory (or a JSON file); change feed by sequence number."""

    name = "memory"
    kind = RecordKind.CONTACT
    schema = MEMORY_FIELDS
    capabilities = Capabilities(
        tags=True,
        batch_size=100,
        rate_limit=RateLimit(requests=1000, max_concurrency=8),
        change_feed=ChangeFeed.EVENTS,
        idempotency=True,
        deletion_signal=True,
        unsubscribe_signal=True,
    )
    settings_model = MemorySettings
    identity_settings = ("store", "file")
    settings: MemorySettings
    origin_field = "custom.pairsync_origin"

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext) -> None:
        super().__init__(settings, context)
        assert isinstance(settings, MemorySettings)
        path = Path(settings.file) if settings.file else None
        key = f"{settings.store}@{path}" if path else settings.store
        self.store = MemoryStore.named(key, path)
        self.store.reload()
        if settings.seed and not self.store.records:
            self.store.fill(Path(settings.seed))
        self.capabilities = self.capabilities_for(settings)  # type: ignore[misc]

    @classmethod
    def capabilities_for(cls, settings: ConnectorSettings) -> Capabilities:
        assert isinstance(settings, MemorySettings)
        return replace(
            cls.capabilities,
            tags=settings.tags,
            idempotency=settings.idempotency,
            source_of_truth=settings.source_of_truth,
            source_of_truth_reason="this memory account is configured as the source of truth",
        )

    async def list(self, since: Any = None) -> AsyncIterator[Page]:
        full = since is None
        after = 0 if full else _cursor(since, self.store.seq)
        ids = [
            rid
            for rid, stored in sorted(self.store.records.items(), key=lambda item: item[1].seq)
            if stored.seq > after and not (full and stored.deleted)
        ]
        size = self.settings.page_size
        cursor = self.store.seq
        for start in range(0, max(len(ids), 1), size):
            await self._request()
            chunk = ids[start : start + size]
            last = start + size >= len(ids)
            yield Page(
                records=[self.store.to_record(rid) for rid in chunk],
                cursor=cursor if last else None,
                last=last,
                full=full,
            )

    async def _request(self) -> None:
        self.context.count_request()
        if self.settings.latency_ms:
            await asyncio.sleep(self.settings.latency_ms / 1000)

    async def get(self, record_id: str) -> Record | None:
        await self._request()
        if record_id not in self.store.records:
            return None
        return self.store.to_record(record_id)

    async def upsert(self, requests: Sequence[WriteRequest]) -> builtins.list[WriteResult]:
        await self._request()
        results = [self._write(request) for request in requests]
        if self.store.lose_responses > 0:
            self.store.lose_responses -= 1
            raise ConnectionError("connection reset after the write was applied (injected)")
        return results

    def _write(self, request: WriteRequest) -> WriteResult:
        read_only = [name for name in request.fields if not self.schema.writable(name)]
        if read_only:
            return WriteResult(key=request.key, error=f"fields not writable: {', '.join(sorted(read_only))}")
        if request.fields.get("email") in self.store.fail_ids or request.id in self.store.fail_ids:
            return WriteResult(key=request.key, error="rejected by the memory store (injected failure)")
        if request.id is None and not self.settings.idempotency:
            created = self.store.add(request.fields)
            return WriteResult(key=request.key, id=created, record=self.store.to_record(created))
        if request.id is None:
            existing = self.store.idempotency.get(request.key)
            if existing is None:
                existing = self.store.add(request.fields)
                self.store.idempotency[request.key] = existing
                self.store.save()
            return WriteResult(key=request.key, id=existing, record=self.store.to_record(existing))
        if request.id not in self.store.records or self.store.records[request.id].deleted:
            return WriteResult(key=request.key, error=f"record {request.id} does not exist")
        self.store.edit(request.id, request.fields)
        return WriteResult(key=request.key, id=request.id, record=self.store.to_record(request.id))

    async def tag(self, record_id: str, tag: str) -> None:
        self._require_tags()
        self.context.count_request()
        self.store.set_tags(record_id, self.store.records[record_id].tags | {tag})

    async def untag(self, record_id: str, tag: str) -> None:
        self._require_tags()
        self.context.count_request()
        self.store.set_tags(record_id, self.store.records[record_id].tags - {tag})

    def _require_tags(self) -> None:
        if not self.capabilities.tags:
            raise NotImplementedError("this memory account was configured without tags")


Register = Callable[[type[Connector]], None]


@hookimpl
def register_connectors(register: Register) -> None:
    register(MemoryConnector)


def _cursor(since: Any, newest: int) -> int:
    """A change sequence number this store issued; any other cursor is refused (the engine lists in full)."""
    try:
        after = int(since)
    except (TypeError, ValueError):
        raise CursorRefused(f"unreadable cursor {since!r}") from None
    if not 0 <= after <= newest:
        raise CursorRefused(f"cursor {after} is past this store's newest change {newest}")
    return after
