"""One run of one connection: read both sides, plan, execute, remember.

`plan_connection` does the reading and planning only (the dry run);
`run_connection` also executes and saves cursors, links and history.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.config.loaded import LoadedConfig
from engine.config.models import Connection
from engine.connection import Prepared, match_fields, prepare
from engine.connector import Connector, ConnectorContext
from engine.executor import Executor, Outcome
from engine.planner.model import SIDES, Plan, Side
from engine.planner.plan import PlanInput, plan
from engine.plugins import Registry, registry
from engine.records import Record
from engine.secrets import REDACTOR
from engine.state.store import StateStore, process_holder

Progress = Callable[[int], None]
Reader = Callable[["Session", Side], Awaitable["SideRead"]]
"""How a run reads one side; the default is the change feed (`Session.read`), a targeted sync reads named ids."""


@dataclass
class SideRead:
    """What one side returned this run."""

    changes: dict[str, Record] = field(default_factory=dict)
    cursor: Any = None
    complete: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    connection: str
    status: str
    plan: Plan
    outcome: Outcome | None = None
    requests: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_id: int | None = None
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        counts = self.plan.counts()
        data: dict[str, Any] = {"connection": self.connection, "status": self.status, "run_id": self.run_id}
        if self.outcome is not None:
            data.update(
                created=self.outcome.created,
                updated=self.outcome.updated,
                tagged=self.outcome.tagged,
                untagged=self.outcome.untagged,
                failed=self.outcome.failed,
            )
        else:
            data.update({k: counts[k] for k in ("created", "updated", "tagged", "untagged")}, failed=0)
        data.update(
            skipped=counts["skipped"],
            conflicts=counts["conflicts"],
            linked=counts["linked"],
            requests=self.requests,
            warnings=self.warnings,
            notes=self.notes,
        )
        if counts["held"]:
            data["held_for_review"] = counts["held"]
        if self.plan.blocked:
            data["blocked"] = self.plan.blocked
        if self.error:
            data["error"] = self.error
        return data


class Session:
    """The connectors of one connection, with contexts backed by the state store."""

    def __init__(
        self, loaded: LoadedConfig, connection: Connection, store: StateStore, plugins: Registry | None = None
    ) -> None:
        self.loaded = loaded
        self.connection = connection
        self.store = store
        self.plugins = plugins or registry()
        self.prepared: Prepared = prepare(loaded, connection, self.plugins)
        self.contexts = {side: self._context(side) for side in SIDES}
        self.known: dict[Side, dict[str, Record]] = {}
        self.connectors: dict[Side, Connector] = {
            side: self.prepared.accounts[side].connector(self.prepared.accounts[side].settings, self.contexts[side])
            for side in SIDES
        }

    def _context(self, side: Side) -> ConnectorContext:
        account = self.prepared.accounts[side].name
        return ConnectorContext(
            account,
            lambda key: self.store.credential(account, key),
            lambda key, value: self.store.save_credential(account, key, value),
        )

    def requests(self) -> dict[str, int]:
        return {side: self.contexts[side].requests for side in SIDES}

    async def aclose(self) -> None:
        for connector in self.connectors.values():
            await connector.aclose()

    async def read(self, side: Side, full: bool) -> SideRead:
        name = self.connection.name
        since = None if full else self.store.cursor(name, side)
        read = SideRead(complete=True)
        last_seen = False
        async for page in self.connectors[side].list(since):
            for record in page.records:
                read.changes[record.id] = record
            read.complete = read.complete and page.full
            if page.note:
                read.notes.append(f"{side}: {page.note}")
            if page.last:
                read.cursor, last_seen = page.cursor, True
        read.complete = read.complete and last_seen
        waiting = [rid for rid in self.store.retries(name, side) if rid not in read.changes]
        read.changes.update(await self.fetch(side, waiting))
        return read

    async def read_both(self, reader: Reader) -> dict[Side, SideRead]:
        """Both sides at once: neither read depends on the other."""
        left, right = await asyncio.gather(reader(self, "left"), reader(self, "right"))
        return {"left": left, "right": right}

    async def fetch(self, side: Side, ids: list[str]) -> dict[str, Record]:
        """The current state of records by id, fetched concurrently within the connector's limit."""
        connector = self.connectors[side]
        gate = asyncio.Semaphore(max(1, connector.capabilities.rate_limit.max_concurrency))

        async def one(record_id: str) -> Record | None:
            async with gate:
                return await connector.get(record_id)

        fetched = await asyncio.gather(*(one(record_id) for record_id in ids))
        return {record.id: record for record in fetched if record is not None}

    def plan_input(self, reads: dict[Side, SideRead], force: bool) -> PlanInput:
        name, c = self.connection.name, self.connection
        self.known = {side: self.store.seen(name, side) for side in SIDES}
        index = {side: {**self.known[side], **reads[side].changes} for side in SIDES}
        return PlanInput(
            connection=name,
            mapper=self.prepared.mapper,
            changes={side: reads[side].changes for side in SIDES},
            index=index,
            links=self.store.links(name),
            direction=c.resolved_direction,
            conflict=c.conflict,
            modes={side: c.mode_for(side) for side in SIDES},
            match_fields=match_fields(c, self.prepared.accounts),
            on_duplicate=c.match.on_duplicate,
            complete={side: reads[side].complete for side in SIDES},
            filters=self.prepared.filters,
            actions={"left": c.then.left, "right": c.then.right},
            deletions=c.deletions,
            unsubscribes=c.unsubscribes,
            tags_supported={side: self.connectors[side].capabilities.tags for side in SIDES},
            pending=self.store.pending(name),
            picks=self.store.picks(name),
            decisions=self.store.decisions(name),
            breaker=c.breaker,
            force=force,
            new_key=lambda: f"{name}:{uuid.uuid4().hex}",
        )


async def plan_connection(
    loaded: LoadedConfig, connection: Connection, store: StateStore, full: bool = False
) -> Report:
    """The dry run: read both sides and plan, writing nothing (not even cursors)."""
    session = Session(loaded, connection, store)
    try:
        reads = await session.read_both(_change_feed(full))
        result = plan(session.plan_input(reads, force=False))
    except Exception as error:  # noqa: BLE001 - a failed read is reported for this connection alone
        return _failed(connection.name, session, error)
    finally:
        await session.aclose()
    return Report(
        connection.name,
        "planned",
        result,
        requests=session.requests(),
        warnings=session.prepared.warnings,
        notes=_notes(reads),
    )


async def run_connection(
    loaded: LoadedConfig,
    connection: Connection,
    store: StateStore,
    full: bool = False,
    force: bool = False,
    trigger: str = "cli",
    progress: Progress | None = None,
    reader: Reader | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> Report:
    holder = process_holder()
    lock = f"run:{connection.name}"
    if not store.acquire(lock, holder):
        return Report(
            connection.name, "busy", Plan(connection.name), error="another run of this connection is in progress"
        )
    try:
        return await _run_locked(loaded, connection, store, full, force, trigger, progress, reader, on_plan)
    finally:
        store.release(lock, holder)


async def _run_locked(
    loaded: LoadedConfig,
    connection: Connection,
    store: StateStore,
    full: bool,
    force: bool,
    trigger: str,
    progress: Progress | None,
    reader: Reader | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> Report:
    name = connection.name
    run_id = store.start_run(name, trigger)
    session = Session(loaded, connection, store)
    try:
        reads = await session.read_both(reader or _change_feed(full))
        result = plan(session.plan_input(reads, force))
        if on_plan is not None:
            on_plan(result)  # the service shows progress against the planned writes
        report = Report(name, "ok", result, warnings=session.prepared.warnings, notes=_notes(reads), run_id=run_id)
        if result.blocked:
            report.status = "blocked"
        else:
            executor = Executor(store, name, run_id, session.connectors, session.prepared.mapper, progress)
            report.outcome = await executor.execute(result)
            _remember(store, session, reads, report.outcome)
            _close_reviews(store, name, result, report.outcome)
            report.status = "failed" if report.outcome.failed else "ok"
    except Exception as error:  # noqa: BLE001 - the run is recorded as failed with the reason
        report = _failed(name, session, error)
        report.run_id = run_id
    finally:
        await session.aclose()
    report.requests = session.requests()
    store.finish_run(run_id, report.status, report.summary())
    return report


def _change_feed(full: bool) -> Reader:
    async def read(session: Session, side: Side) -> SideRead:
        return await session.read(side, full)

    return read


def _remember(store: StateStore, session: Session, reads: dict[Side, SideRead], outcome: Outcome) -> None:
    name = session.connection.name
    fields = match_fields(session.connection, session.prepared.accounts)
    for side in SIDES:
        known = session.known.get(side, {})
        read = [r for r in reads[side].changes.values() if known.get(r.id) != r]  # unchanged rows stay as they are
        store.remember(name, side, [*read, *outcome.written[side]], fields[side])
        store.set_retries(name, side, outcome.failures[side])
        if reads[side].cursor is not None:
            store.save_cursor(name, side, reads[side].cursor)


def _close_reviews(store: StateStore, name: str, result: Plan, outcome: Outcome) -> None:
    """Review items this run applied; one whose record failed stays for the next run."""
    failures = outcome.failures
    store.close_reviews(
        name,
        [(left, key) for left, key in result.reviewed_picks if left not in failures["left"]],
        [(side, rid) for side, rid in result.reviewed_deletions if rid not in failures[side]],
    )


def _notes(reads: dict[Side, SideRead]) -> list[str]:
    return [note for side in SIDES for note in reads[side].notes]


def _failed(name: str, session: Session, error: BaseException) -> Report:
    message = REDACTOR.redact(f"{type(error).__name__}: {error}")
    if len(message) > 2000:  # a database error can quote a whole statement
        message = message[:2000] + " … (cut)"
    return Report(
        name, "error", Plan(name), requests=session.requests(), warnings=session.prepared.warnings, error=message
    )
