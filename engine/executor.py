"""The executor: runs a plan's operations against the connectors and records every outcome.

Every write intent is journaled before it is sent; links and merge bases are
saved batch by batch as writes succeed, so a run killed at any moment and
started again neither duplicates a create nor loses an update. A record
whose write fails is reported, keeps its old base and is read again next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.connector import Connector
from engine.longlived import settle
from engine.mapping import Mapper
from engine.planner.model import (
    SIDES,
    Base,
    Conflict,
    Create,
    Link,
    LinkOnly,
    Plan,
    Review,
    Side,
    Skip,
    Tag,
    Update,
    other,
)
from engine.progress import NoPhases, Phases
from engine.records import Record, WriteRequest, WriteResult
from engine.secrets import REDACTOR
from engine.state.locks import LockLost
from engine.state.store import StateStore

T = TypeVar("T")
Progress = Callable[[int], None]


@dataclass
class Outcome:
    """What a run did, per side."""

    created: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    tagged: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    untagged: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    failed: int = 0
    failures: dict[str, dict[str, str]] = field(default_factory=lambda: {"left": {}, "right": {}})
    written: dict[str, list[Record]] = field(default_factory=lambda: {"left": [], "right": []})
    # (record id, tag, added) per side: the stored records take them, so a tag is not planned again
    # when the app's change feed does not report the tag change back
    tag_changes: dict[str, list[tuple[str, str, bool]]] = field(default_factory=lambda: {"left": [], "right": []})
    events: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:
        """The counts: the written records and events are the run's data (see `Plan.__repr__`)."""
        counts = ", ".join(f"{k}={getattr(self, k)}" for k in ("created", "updated", "tagged", "untagged"))
        return f"Outcome({counts}, failed={self.failed})"


class WriteRefused(Exception):
    """An app refused a write for the account's credentials (revoked, expired for good): the run stops, since
    every further write would be refused too, and the runner marks the account `needs reconnect`. The refused
    batch's keys stay pending in the journal, so the next run resolves them."""

    def __init__(self, side: Side, reason: str) -> None:
        super().__init__(f"the {side} app refused a write: {reason}")
        self.side = side
        self.reason = reason


def _error_text(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return REDACTOR.redact(text)


class Executor:
    def __init__(
        self,
        store: StateStore,
        connection: str,
        run_id: int,
        connectors: dict[Side, Connector],
        mapper: Mapper,
        progress: Progress | None = None,
        guard: Callable[[], None] | None = None,
        phases: Phases | None = None,
    ) -> None:
        self.store = store
        self.connection = connection
        self.run_id = run_id
        self.connectors = connectors
        self.mapper = mapper
        self.outcome = Outcome()
        self.progress = progress or (lambda _n: None)
        self.guard = guard or (lambda: None)  # raises LockLost once the run's lock is gone: no write after that
        self.phases = phases or NoPhases()
        self.unconfirmed: dict[tuple[str, str], set[str]] = {}
        self.uncertain: set[str] = set()
        self.events_saved = 0
        self.gates = {
            side: asyncio.Semaphore(max(1, connectors[side].capabilities.rate_limit.max_concurrency)) for side in SIDES
        }

    async def execute(self, plan: Plan) -> Outcome:
        for op in plan.of(Update):
            self.unconfirmed.setdefault(_ids(op.link), set()).update(op.keys)
        self._journal(plan)
        self._record_notes(plan)
        self._hold_for_review(plan.of(Review))
        links = plan.of(LinkOnly)
        self._save_links([op for op in links if not self._has_writes(op.link)])
        self.store.settle([(key, None, None) for op in links for key in op.settles])
        for side in SIDES:
            await self._creates(side, [op for op in plan.of(Create) if op.side == side])
        for side in SIDES:
            await self._updates(plan, side, [op for op in plan.of(Update) if op.side == side])
        await self._tags(plan.of(Tag))
        self._save_events()
        return self.outcome

    # bookkeeping ------------------------------------------------------------

    def _journal(self, plan: Plan) -> None:
        intents = []
        for op in plan.operations:
            if isinstance(op, Create):
                intents.append((op.key, op.side, "create", op.source_id))
            elif isinstance(op, Update):
                intents.append((op.key, op.side, "update", op.record_id))
            elif isinstance(op, Tag):
                intents.append((op.key, op.side, "tag" if op.add else "untag", op.record_id))
        self.store.journal(self.connection, self.run_id, intents)

    def _record_notes(self, plan: Plan) -> None:
        for op in plan.operations:
            if isinstance(op, Skip):
                self._event(op.side, op.record_id, "skipped", reason=op.reason)
            elif isinstance(op, Conflict):
                self._event(
                    op.winner,
                    op.left_id if op.winner == "left" else op.right_id,
                    "conflict",
                    field=op.field,
                    kept=op.value,
                    losing_value=op.losing_value,
                    rule=op.rule,
                    left_id=op.left_id,
                    right_id=op.right_id,
                )
            elif isinstance(op, LinkOnly) and op.new:
                self._event("left", op.link.left_id, "linked", right_id=op.link.right_id)
            elif isinstance(op, Review):
                self._event(op.side, op.record_id, "held", tag=op.tag, reason=op.reason)

    def _hold_for_review(self, ops: list[Review]) -> None:
        """Deletion tags that wait for a person: into the review queue, written once approved."""
        self.store.hold_deletions(
            self.connection,
            [
                {"side": op.side, "record_id": op.record_id, "tag": op.tag, "reason": op.reason,
                 "left_id": op.left_id, "right_id": op.right_id}
                for op in ops
            ],
        )

    def _event(self, side: str | None, record_id: str | None, kind: str, **detail: Any) -> None:
        self.outcome.events.append({"side": side, "record_id": record_id, "kind": kind, "detail": detail})

    def _has_writes(self, link: Link) -> bool:
        return _ids(link) in self.unconfirmed

    def _save_links(self, ops: Sequence[LinkOnly]) -> None:
        self.store.save_links(self.connection, [Link(op.link.left_id, op.link.right_id, op.base) for op in ops])

    def _fail(self, side: Side, record_id: str, error: str, **detail: Any) -> None:
        self.outcome.failed += 1
        self.outcome.failures[side][record_id] = error
        self._event(side, record_id, "failed", error=error, **detail)

    async def _gated(self, side: Side, call: Callable[[], Awaitable[T]]) -> T:
        async with self.gates[side]:
            self.guard()
            return await call()

    async def _write(self, side: Side, requests: list[WriteRequest]) -> list[WriteResult]:
        """One result per request. A batch that raised has an unknown outcome: its keys stay pending."""
        connector = self.connectors[side]
        try:
            results = await self._gated(side, lambda: connector.upsert(requests))
        except LockLost:
            raise
        except Exception as error:  # noqa: BLE001 - a failed batch fails its records, not the run
            self._stop_if_refused(side, error)
            self.uncertain.update(r.key for r in requests)
            return [WriteResult(key=r.key, error=_error_text(error)) for r in requests]
        settle()  # the written records stay in the run's outcome until it ends
        if len(results) != len(requests):
            return [
                WriteResult(
                    key=r.key, error=f"{connector.name} returned {len(results)} results for {len(requests)} writes"
                )
                for r in requests
            ]
        return results

    def _stop_if_refused(self, side: Side, error: Exception) -> None:
        """Credentials refused for good are the account's failure, not the record's: the run stops."""
        if self.connectors[side].auth_failure(error):
            raise WriteRefused(side, _error_text(error)) from error

    def _batches(self, side: Side, items: Sequence[T]) -> list[Sequence[T]]:
        size = max(1, self.connectors[side].capabilities.batch_size)
        return [items[i : i + size] for i in range(0, len(items), size)]

    # creates ----------------------------------------------------------------

    async def _creates(self, side: Side, ops: list[Create]) -> None:
        await asyncio.gather(*(self._create_batch(side, list(batch)) for batch in self._batches(side, ops)))

    async def send_creates(self, side: Side, ops: list[Create]) -> None:
        """One batch of creates decided before the whole plan (engine/streaming.py): journaled, then sent
        like the plan's own, behind the same run-lock check and concurrency gate."""
        self._journal(Plan(self.connection, list(ops)))
        await self._create_batch(side, ops)
        self._save_events()  # while the other batches wait their turn, not all at the end

    def _save_events(self) -> None:
        """The events not saved yet, into the run's history."""
        self.store.add_events(self.run_id, self.outcome.events[self.events_saved :])
        self.events_saved = len(self.outcome.events)

    async def _create_batch(self, side: Side, ops: list[Create]) -> None:
        requests = [WriteRequest(key=op.key, id=None, fields=dict(op.fields)) for op in ops]
        results = await self._write(side, requests)
        links: list[Link] = []
        settled: list[tuple[str, str | None, str | None]] = []
        for op, result in zip(ops, results, strict=True):
            source_side = other(side)
            if not result.ok or result.id is None:
                error = result.error or "no id returned"
                self._fail(source_side, op.source_id, f"create on {side} failed: {error}", target=side)
                if op.key not in self.uncertain:  # it may have landed: keep the key for the next run
                    settled.append((op.key, None, error))
                continue
            base = Base(dict(op.base.left), dict(op.base.right))
            if result.record is not None:
                base.of(side).update(self.mapper.project(side, result.record))
                self.outcome.written[side].append(result.record)
            else:
                base.of(side).update(op.base.of(source_side))
            left_id, right_id = (op.source_id, result.id) if side == "right" else (result.id, op.source_id)
            links.append(Link(left_id, right_id, base))
            settled.append((op.key, result.id, None))
            self.outcome.created[side] += 1
            self._event(side, result.id, "created", source_id=op.source_id, fields=dict(op.fields))
        self.store.save_links(self.connection, links)
        self.store.settle(settled)
        self.progress(len(ops))
        self.phases.written(side, len(ops))
        for op, result in zip(ops, results, strict=True):
            if result.ok and result.id:
                for tag in op.tags:
                    await self._tag(Tag(side, result.id, tag, True, "THEN add_tag", op.key + ":tag"))

    # updates ----------------------------------------------------------------

    async def _updates(self, plan: Plan, side: Side, ops: list[Update]) -> None:
        await asyncio.gather(*(self._update_batch(plan, side, list(batch)) for batch in self._batches(side, ops)))

    async def _update_batch(self, plan: Plan, side: Side, ops: list[Update]) -> None:
        requests = [WriteRequest(key=op.key, id=op.record_id, fields=dict(op.fields)) for op in ops]
        results = await self._write(side, requests)
        settled: list[tuple[str, str | None, str | None]] = []
        for op, result in zip(ops, results, strict=True):
            if result.ok:
                self.outcome.updated[side] += 1
                self._event(
                    side, op.record_id, "updated", changes={k: [op.old.get(k), v] for k, v in op.fields.items()}
                )
                if result.record is not None:
                    written = self.mapper.project(side, result.record)
                    op.base.of(side).update({k: written[k] for k in op.keys if k in written})
                    self.outcome.written[side].append(result.record)
                self.unconfirmed[_ids(op.link)] -= set(op.keys)
                settled.append((op.key, op.record_id, None))
            else:
                error = result.error or "unknown error"
                self._fail(side, op.record_id, f"update failed: {error}", fields=sorted(op.fields))
                self.outcome.failures[other(side)][op.link.id_of(other(side))] = error
                settled.append((op.key, op.record_id, error))
        self.store.save_links(self.connection, [self._confirmed_link(op) for op in ops])
        self.store.settle(settled)
        self.progress(len(ops))
        self.phases.written(side, len(ops))

    def _confirmed_link(self, op: Update) -> Link:
        """The link with its new base, except for keys whose write is not confirmed: those keep the old base,
        so an unsent or failed write is planned again next run."""
        base = Base(dict(op.base.left), dict(op.base.right))
        for key in self.unconfirmed[_ids(op.link)]:
            base.left[key], base.right[key] = op.link.base.left.get(key), op.link.base.right.get(key)
        return Link(op.link.left_id, op.link.right_id, base)

    # tags -------------------------------------------------------------------

    async def _tags(self, ops: list[Tag]) -> None:
        await asyncio.gather(*(self._tag(op) for op in ops))
        self.store.settle([(op.key, op.record_id, self.outcome.failures[op.side].get(op.record_id)) for op in ops])

    async def _tag(self, op: Tag) -> None:
        try:
            await self._tag_once(op)
        finally:
            self.phases.written(op.side, 1)

    async def _tag_once(self, op: Tag) -> None:
        connector = self.connectors[op.side]
        call = connector.tag if op.add else connector.untag
        try:
            await self._gated(op.side, lambda: call(op.record_id, op.tag))
        except LockLost:
            raise
        except Exception as error:  # noqa: BLE001 - one failed tag fails that record alone
            self._stop_if_refused(op.side, error)
            self._fail(op.side, op.record_id, f"{'tag' if op.add else 'untag'} {op.tag!r} failed: {_error_text(error)}")
            return
        (self.outcome.tagged if op.add else self.outcome.untagged)[op.side] += 1
        self.outcome.tag_changes[op.side].append((op.record_id, op.tag, op.add))
        if op.link is not None and op.base is not None:
            self.store.save_links(self.connection, [Link(op.link.left_id, op.link.right_id, op.base)])
        self._event(op.side, op.record_id, "tagged" if op.add else "untagged", tag=op.tag, reason=op.reason)


def _ids(link: Link) -> tuple[str, str]:
    return (link.left_id, link.right_id)
