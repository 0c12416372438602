"""One run of one connection: read both sides, plan, execute, remember.

`plan_connection` does the reading and planning only (the dry run);
`run_connection` also executes and saves cursors, links and history.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx

from engine import identity, labels
from engine.config.loaded import LoadedConfig
from engine.config.models import Connection
from engine.connection import Prepared, match_fields, prepare
from engine.connector import Connector, ConnectorContext, CursorRefused, Unreachable
from engine.executor import Executor, Outcome, WriteRefused
from engine.indexing import Indexer
from engine.longlived import run_scope, settle
from engine.notify.hooks import after_run
from engine.planner.model import SIDES, Link, Plan, Side
from engine.planner.plan import PlanInput, plan
from engine.plugins import Registry, registry
from engine.progress import NoPhases, Phases
from engine.records import Record
from engine.secrets import REDACTOR
from engine.state.store import StateStore
from engine.streaming import Pipeline, WritesAfterPlan

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
    feed: bool = False  # read from the change feed: it holds every write made since the saved cursor


@dataclass
class Stored:
    """The state a plan starts from besides the record index: links, unfinished writes, review outcomes."""

    links: list[Link]
    pending: dict[tuple[str, str, str], str]
    picks: dict[tuple[str, str], Any]
    decisions: dict[tuple[str, str], str]


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
    reconnect: str | None = None  # the account whose credentials this run found refused

    links_total: int = 0
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    """(side, record id) -> how a user recognises the record (name and email), for tables."""
    streamed: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    """Creates (part of `plan`) sent before the whole plan was made: engine/streaming.py."""

    def __repr__(self) -> str:
        """Short, whatever the run's size: the plan and outcome say only their counts (see `Plan.__repr__`)."""
        return f"Report({self.connection!r}, {self.status!r}, run_id={self.run_id}, {self.plan!r}, {self.outcome!r})"

    def summary(self) -> dict[str, Any]:
        """The figures of docs/output.md: what was done (a plan: what would be done), the plan apart, links."""
        counts = self.plan.counts()
        planned = {k: counts[k] for k in WRITES}
        data: dict[str, Any] = {"connection": self.connection, "status": self.status, "run_id": self.run_id}
        if self.outcome is not None:
            done = {k: dict(getattr(self.outcome, k)) for k in WRITES}
        elif self.status == "planned":
            done = planned
        else:  # blocked, busy, error, interrupted before writing: nothing was written
            done = {k: {"left": 0, "right": 0} for k in WRITES}
        new_links = counts["linked"] + sum(done["created"].values())
        data.update(done, failed=self.outcome.failed if self.outcome is not None else 0)
        data.update(
            skipped=counts["skipped"],
            conflicts=counts["conflicts"],
            linked={"total": self.links_total, "new": new_links},
            planned=planned,
            requests=self.requests,
            warnings=[*self.warnings, *([f"blocked: {self.plan.blocked}"] if self.plan.blocked else [])],
            notes=self.notes,
        )
        if counts["held"]:
            data["held_for_review"] = counts["held"]
        if self.plan.blocked:
            data["blocked"] = self.plan.blocked
        if self.error:
            data["error"] = self.error
        return data


WRITES = ("created", "updated", "tagged", "untagged")


class NeedsReconnect(Exception):
    """An app refused an account's credentials: the account is marked and its connections pause."""

    def __init__(self, account: str, reason: str) -> None:
        super().__init__(f"account {account!r} needs reconnect: {reason}")
        self.account = account
        self.reason = reason


def paused(loaded: LoadedConfig, connection: Connection, store: StateStore) -> Report | None:
    """A report for a connection whose account needs reconnect (nothing read or written), else None."""
    for account in (connection.left, connection.right):
        health = store.account_health(account)
        if not health.ok:
            message = f"account {account!r} needs reconnect ({health.reason}): run `{health.fix(str(loaded.path))}`"
            return Report(connection.name, "paused", Plan(connection.name), error=message)
    return None


class Session:
    """The connectors of one connection, with contexts backed by the state store."""

    def __init__(
        self, loaded: LoadedConfig, connection: Connection, store: StateStore, plugins: Registry | None = None
    ) -> None:
        self.loaded = loaded
        self.connection = connection
        self.store = store
        self.plugins = plugins or loaded.plugins or registry()
        self.prepared: Prepared = prepare(loaded, connection, self.plugins)
        self.contexts = {side: self._context(side) for side in SIDES}
        self.known: dict[Side, dict[str, Record]] = {}  # stored records this run did not read
        self.phases: Phases = NoPhases()
        self.fresh: dict[Side, str] = {}  # sides whose account changed: read in full, no old links (a note each)
        self.on_page: Callable[[Side, list[Record]], None] | None = None  # pages of a full listing, as they come
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
            lambda key: self.store.exclusive(f"credential:{account}:{key}"),
        )

    def labels(self, reads: dict[Side, SideRead]) -> dict[tuple[str, str], str]:
        """A human label for every record this run knows of (read now, or seen in an earlier run)."""
        fields = match_fields(self.connection, self.prepared.accounts)
        return labels.merged(
            *(labels.labels(side, self.known.get(side, {}).values(), fields[side]) for side in SIDES),
            *(labels.labels(side, reads[side].changes.values(), fields[side]) for side in SIDES),
        )

    def requests(self) -> dict[str, int]:
        return {side: self.contexts[side].requests for side in SIDES}

    async def aclose(self) -> None:
        for connector in self.connectors.values():
            await connector.aclose()

    def check_accounts(self, apply: bool) -> None:
        """Notice a side whose settings now select another account; `apply` (a run, not a plan) forgets the old
        account's links, cursors and index, so nothing of it is reused."""
        name = self.connection.name
        for side in SIDES:
            shown = identity.described(self.prepared.accounts[side])
            stored = self.store.identity(name, side)
            if stored is not None and stored[0] != identity.fingerprint(shown):
                links = self.store.count_links(name)
                self.fresh[side] = (
                    f"{side}: account {self.prepared.accounts[side].name!r} now selects other data "
                    f"({identity.what_changed(stored[1], shown)}); the connection starts afresh on that side: "
                    f"{links} links, the cursors and the records seen in the old account are "
                    f"{'dropped' if apply else 'dropped by the run'}, and records are matched again"
                )
                if apply:
                    self.store.start_afresh(name, side)
            if apply and (stored is None or side in self.fresh):
                self.store.save_identity(name, side, identity.fingerprint(shown), shown)

    async def read(self, side: Side, full: bool) -> SideRead:
        name = self.connection.name
        since = None if full or self.fresh else self.store.cursor(name, side)
        read = SideRead(complete=True, feed=True)
        try:
            await self._list(side, since, read)
        except (Unreachable, httpx.TransportError) as error:
            raise SideUnreachable(self._unreachable(side, error)) from None
        except CursorRefused as refused:
            if since is None:
                raise
            note = f"{side}: the saved cursor was refused ({refused}): full listing"
            read = SideRead(complete=True, feed=True, notes=[note])
            await self._list(side, None, read)
        waiting = [rid for rid in self.store.retries(name, side) if rid not in read.changes]
        read.changes.update(await self.fetch(side, waiting))
        return read

    def _unreachable(self, side: Side, error: BaseException) -> str:
        setup = self.prepared.accounts[side]
        url = getattr(setup.settings, "base_url", None) or "its default address"
        cause = str(error) or type(error).__name__
        return (
            f"cannot reach the {side} side: account {setup.name!r} ({setup.connector.name}) at {url} did not answer "
            f"({type(error).__name__}: {cause}). Check that the address in the account's `base_url` is right and "
            "reachable from here (network, proxy, firewall, VPN); for a sandbox, that it is running"
        )

    async def _list(self, side: Side, since: Any, read: SideRead) -> None:
        last_seen = False
        async for page in self.connectors[side].list(since):
            for record in page.records:
                read.changes[record.id] = record
            if since is None and self.on_page is not None:
                self.on_page(side, page.records)
            self.phases.read(side, len(page.records))
            settle()  # the page's records live until the run ends
            read.complete = read.complete and page.full
            if page.note and f"{side}: {page.note}" not in read.notes:  # once per run, however many pages
                read.notes.append(f"{side}: {page.note}")
            if page.last:
                read.cursor, last_seen = page.cursor, True
        read.complete = read.complete and last_seen

    async def read_both(self, reader: Reader) -> dict[Side, SideRead]:
        """Both sides at once: neither read depends on the other."""
        left, right = await asyncio.gather(self._guarded(reader, "left"), self._guarded(reader, "right"))
        return {"left": left, "right": right}

    async def _guarded(self, reader: Reader, side: Side) -> SideRead:
        """A side's read; refused credentials become NeedsReconnect naming that side's account."""
        try:
            return await reader(self, side)
        except Exception as error:
            if self.connectors[side].auth_failure(error):
                raise self.refused(side, str(error)) from error
            raise

    def refused(self, side: Side, reason: str) -> NeedsReconnect:
        """The app refused the side's credentials (reading or writing): that account needs reconnect."""
        return NeedsReconnect(self.prepared.accounts[side].name, REDACTOR.redact(reason))

    async def fetch(self, side: Side, ids: list[str]) -> dict[str, Record]:
        """The current state of records by id, fetched concurrently within the connector's limit."""
        connector = self.connectors[side]
        gate = asyncio.Semaphore(max(1, connector.capabilities.rate_limit.max_concurrency))

        async def one(record_id: str) -> Record | None:
            async with gate:
                return await connector.get(record_id)

        fetched = await asyncio.gather(*(one(record_id) for record_id in ids))
        return {record.id: record for record in fetched if record is not None}

    def _stored(self, side: Side, read: SideRead) -> dict[str, Record]:
        """The stored index of a side, less the records this run read (their newer state replaces them)."""
        return {} if side in self.fresh else self.store.seen(self.connection.name, side, skip=read.changes)

    def stored(self) -> Stored:
        """What the plan reads from the state store besides the index, taken once: before any write of the run.
        (The index is written only after the run's writes, so each plan input reads it then, less what was read.)"""
        name = self.connection.name
        return Stored(
            links=[] if self.fresh else self.store.links(name),
            pending={} if self.fresh else self.store.pending(name),
            picks=self.store.picks(name),
            decisions=self.store.decisions(name),
        )

    def plan_input(
        self, reads: dict[Side, SideRead], force: bool, now: datetime | None = None, stored: Stored | None = None
    ) -> PlanInput:
        """`now` is the run's clock for relative-date conditions (the wall clock unless a caller moves it)."""
        name, c = self.connection.name, self.connection
        stored = stored or self.stored()
        self.known = {side: self._stored(side, reads[side]) for side in SIDES}
        index = {side: {**self.known[side], **reads[side].changes} for side in SIDES}
        return PlanInput(
            connection=name,
            mapper=self.prepared.mapper,
            changes={side: reads[side].changes for side in SIDES},
            index=index,
            links=stored.links,
            direction=c.resolved_direction,
            conflict=c.conflict,
            modes={side: c.mode_for(side) for side in SIDES},
            match_fields=match_fields(c, self.prepared.accounts),
            on_duplicate=c.match.on_duplicate,
            origin_fields={side: type(self.connectors[side]).origin_field for side in SIDES},
            afresh=frozenset(self.fresh),
            create_without_key=c.match.create_without_key,
            feed={side: reads[side].feed for side in SIDES},
            complete={side: reads[side].complete for side in SIDES},
            filters=self.prepared.filters,
            actions={"left": c.then.left, "right": c.then.right},
            condition_ops=self.plugins.condition_ops,
            now=now or datetime.now(UTC),
            clocked=self.prepared.clocked,
            deletions=c.deletions,
            unsubscribes=c.unsubscribes,
            tags_supported={side: self.connectors[side].capabilities.tags for side in SIDES},
            pending=stored.pending,
            picks=stored.picks,
            decisions=stored.decisions,
            breaker=c.breaker,
            force=force,
            new_key=_key_maker(name),
        )


async def plan_connection(
    loaded: LoadedConfig, connection: Connection, store: StateStore, full: bool = False, now: datetime | None = None
) -> Report:
    """The dry run: read both sides and plan, writing nothing (not even cursors)."""
    stopped = paused(loaded, connection, store)
    if stopped is not None:
        return stopped
    session = Session(loaded, connection, store)
    try:
        session.check_accounts(apply=False)
        reads = await session.read_both(_change_feed(full))
        result = plan(session.plan_input(reads, force=False, now=now))
    except Exception as error:  # noqa: BLE001 - a failed read is reported for this connection alone
        return _failed(connection.name, session, error)
    finally:
        await session.aclose()
    report = Report(
        connection.name,
        "planned",
        result,
        requests=session.requests(),
        warnings=session.prepared.warnings,
        notes=_notes(reads, session),
        labels=session.labels(reads),
    )
    report.links_total = (0 if session.fresh else store.count_links(connection.name)) + result.counts()["linked"]
    report.links_total += sum(result.counts()["created"].values())
    return report


async def run_connection(
    loaded: LoadedConfig,
    connection: Connection,
    store: StateStore,
    full: bool = False,
    force: bool = False,
    trigger: str = "cli",
    progress: Progress | None = None,
    reader: Reader | None = None,
    now: datetime | None = None,
    phases: Phases | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    stream: bool = True,
) -> Report:
    """`stream`: send the creates nothing unread can change while reading (engine/streaming.py); False plans
    everything first, as a reference for tests."""
    stopped = paused(loaded, connection, store)
    if stopped is not None:
        return stopped
    held = store.hold(f"run:{connection.name}")
    if held is None:
        return Report(
            connection.name, "busy", Plan(connection.name), error="another run of this connection is in progress"
        )
    with held, run_scope():  # the lock is renewed while the run lasts; every write batch checks it first
        report = await _run_locked(
            loaded, connection, store, full, force, trigger, progress, reader, now, held.check, phases, on_plan, stream
        )
    report.notes += await after_run(loaded, store, report)
    return report


async def _run_locked(
    loaded: LoadedConfig,
    connection: Connection,
    store: StateStore,
    full: bool,
    force: bool,
    trigger: str,
    progress: Progress | None,
    reader: Reader | None = None,
    now: datetime | None = None,
    guard: Callable[[], None] | None = None,
    phases: Phases | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    stream: bool = True,
) -> Report:
    name = connection.name
    run_id = store.start_run(name, trigger)
    report = Report(name, "interrupted", Plan(name), run_id=run_id)
    try:
        session = Session(loaded, connection, store)
        session.phases = phases or NoPhases()
    except BaseException as error:  # settings a connector refuses, or a signal: the row never stays `running`
        report.status = "error" if isinstance(error, Exception) else "interrupted"
        store.finish_run(run_id, report.status, report.summary())
        raise
    try:
        try:
            report = await _sync(session, run_id, full, force, progress, reader, report, now, guard, on_plan, stream)
        finally:
            _stop_if_cancelled()
    except (asyncio.CancelledError, KeyboardInterrupt):
        report.status = "interrupted"
        report.requests = session.requests()
        store.finish_run(run_id, "interrupted", report.summary())  # the journal lets the next run resume
        raise
    except (NeedsReconnect, WriteRefused) as error:  # refused while reading, or while writing
        refused = error if isinstance(error, NeedsReconnect) else session.refused(error.side, error.reason)
        store.mark_needs_reconnect(refused.account, refused.reason)
        report = _failed(name, session, refused)
        report.error = f"{report.error}: run `pairsync connect {loaded.path} {refused.account}`"
        report.run_id, report.reconnect = run_id, refused.account
    except Exception as error:  # noqa: BLE001 - the run is recorded as failed with the reason
        report = _failed(name, session, error)
        report.run_id = run_id
    finally:
        await session.aclose()
    report.requests = session.requests()
    store.finish_run(run_id, report.status, report.summary())
    return report


async def _sync(
    session: Session,
    run_id: int,
    full: bool,
    force: bool,
    progress: Progress | None,
    reader: Reader | None,
    report: Report,
    now: datetime | None = None,
    guard: Callable[[], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    stream: bool = True,
) -> Report:
    """Read, plan and write; `report` is filled as the run goes, so an interrupted run can say how far it got.

    Creates that nothing unread can change go out while the reads and the plan are still under way
    (engine/streaming.py); the plan reported is the whole plan all the same."""
    name, store = session.connection.name, session.store
    session.check_accounts(apply=True)
    session.phases = WritesAfterPlan(session.phases)
    executor = Executor(
        store, name, run_id, session.connectors, session.prepared.mapper, progress, guard, session.phases
    )
    report.outcome = executor.outcome
    pipeline = Pipeline(session, executor, report, force, now, enabled=stream)
    indexer: Indexer | None = None
    try:
        reads = await pipeline.read_both(reader or _change_feed(full))
        result, rest = await pipeline.plan(reads)
        settle()  # the plan lives until the run ends
        if on_plan is not None:
            on_plan(result)  # the service shows progress against the planned writes
        report.plan, report.warnings, report.notes = result, session.prepared.warnings, _notes(reads, session)
        report.labels = session.labels(reads)
        if result.blocked:  # a plan with links: nothing was sent early (engine/planner/stream.py)
            report.status = "blocked"
            report.links_total = store.count_links(name)
            return report
        session.phases.planned(_writes(result))
        fields = match_fields(session.connection, session.prepared.accounts)
        indexer = Indexer(store, name, fields, {side: list(reads[side].changes.values()) for side in SIDES},
                          executor.outcome)
        indexer.start()
        await pipeline.drain()
        report.outcome = await executor.execute(rest)
        await indexer.finish()
    finally:
        await pipeline.close()
        if indexer is not None:
            await indexer.stop()
    await _cursors_after_writes(session, reads)
    _remember(store, session, reads, report.outcome, fields)
    _close_reviews(store, name, result, report.outcome)
    report.status = "failed" if report.outcome.failed else "ok"
    report.links_total = store.count_links(name)
    return report


def _key_maker(connection: str) -> Callable[[], str]:
    """Keys for a plan's operations (journal entries, and the apps' idempotency keys): one random part per plan,
    then a count, so that keys never repeat across plans and runs without asking the system for randomness once
    per operation (a tenth of an initial sync's planning time)."""
    prefix = f"{connection}:{uuid.uuid4().hex}-"
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


def _stop_if_cancelled() -> None:
    """Ctrl-C cancels the run's task; the cancellation reaches the task awaiting a read or a write only if that
    child lets it through. An HTTP stack may catch it and end with an error of its own (a timeout), and a task
    awaiting another task, or gather, then gets that error instead. The run ends as interrupted all the same."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _writes(result: Plan) -> dict[Side, int]:
    """Writes the executor will make into each side: creates, updates, tags (with those THEN adds on creates)."""
    counts = result.counts()
    return {side: sum(counts[k][side] for k in ("created", "updated", "tagged", "untagged")) for side in SIDES}


def _change_feed(full: bool) -> Reader:
    async def read(session: Session, side: Side) -> SideRead:
        return await session.read(side, full)

    return read


async def _cursors_after_writes(session: Session, reads: dict[Side, SideRead]) -> None:
    """A connector that followed its change feed while the run wrote may move its cursor past the run's own
    writes (`Connector.cursor_after_writes`), so the next run does not read them back."""
    sides = [side for side in SIDES if reads[side].feed and reads[side].cursor is not None]
    later = await asyncio.gather(*(session.connectors[s].cursor_after_writes(reads[s].cursor) for s in sides))
    for side, cursor in zip(sides, later, strict=True):
        reads[side].cursor = cursor


def _remember(
    store: StateStore, session: Session, reads: dict[Side, SideRead], outcome: Outcome, fields: dict[Side, str]
) -> None:
    """The records the run tagged, as they are now, its failures and cursors (what it read and wrote is saved by
    the indexer while the writes go out: engine/indexing.py)."""
    name = session.connection.name
    for side in SIDES:
        known = session.known.get(side, {})
        latest = {r.id: r for r in outcome.written[side]}
        tagged = _with_tags(outcome.tag_changes[side], {**known, **reads[side].changes, **latest})
        store.remember(name, side, tagged, fields[side])
        store.set_retries(name, side, outcome.failures[side])
        if reads[side].cursor is not None:
            store.save_cursor(name, side, reads[side].cursor)


def _with_tags(changes: list[tuple[str, str, bool]], records: dict[str, Record]) -> list[Record]:
    """The records a run tagged or untagged, as they are now: the next run compares with these."""
    changed: dict[str, Record] = {}
    for record_id, tag, added in changes:
        record = changed.get(record_id) or records.get(record_id)
        if record is not None:
            tags = record.tags | {tag} if added else record.tags - {tag}
            changed[record_id] = replace(record, tags=frozenset(tags))
    return list(changed.values())


def _notes(reads: dict[Side, SideRead], session: Session) -> list[str]:
    return [*session.fresh.values(), *(note for side in SIDES for note in reads[side].notes)]


class SideUnreachable(Exception):
    """A side's app did not answer; the message names the account, the URL and what to check."""


def _close_reviews(store: StateStore, name: str, result: Plan, outcome: Outcome) -> None:
    """Review items this run applied; one whose record failed stays for the next run."""
    failures = outcome.failures
    store.close_reviews(
        name,
        [(left, key) for left, key in result.reviewed_picks if left not in failures["left"]],
        [(side, rid) for side, rid in result.reviewed_deletions if rid not in failures[side]],
    )


def _failed(name: str, session: Session, error: BaseException) -> Report:
    shown = str(error) if isinstance(error, SideUnreachable) else f"{type(error).__name__}: {error}"
    message = REDACTOR.redact(shown)
    if len(message) > 2000:  # a database error can quote a whole statement
        message = message[:2000] + " … (cut)"
    return Report(
        name, "error", Plan(name), requests=session.requests(), warnings=session.prepared.warnings, error=message
    )
