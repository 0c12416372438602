"""The state store's tables. Alembic migrations in `migrations/` create them; keep both in step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Link(SQLModel, table=True):
    """A pair of records kept in sync, with the merge base: the last synced value of each mapped field, per side."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("connection", "left_id", name="uq_links_left"),
        UniqueConstraint("connection", "right_id", name="uq_links_right"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(index=True)
    left_id: str
    right_id: str
    base_left: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    base_right: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    digest: str | None = None  # of both bases as saved: an unchanged link is not written again
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SeenRecord(SQLModel, table=True):
    """The last known state of every record of a side: the index that matching and deletion detection use."""

    __tablename__ = "seen_records"
    __table_args__ = (
        Index("ix_seen_match", "connection", "side", "match_key"),
        Index("ix_seen_linked", "connection", "linked", "side", "record_id"),
        Index("ix_seen_search", "connection", "search", "side", "record_id"),
    )

    connection: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    record_id: str = Field(primary_key=True)
    match_key: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated: datetime | None = None
    deleted: bool = False
    unsubscribed: bool = False
    linked: bool = False
    """Whether a link holds this record: kept by `save_links` and `remember`, so "not synced" is an index read."""
    search: str | None = None
    """Lowercased names and email of the record, for the dashboard's search."""
    digest: str | None = None  # of the state above as saved: an unchanged record is not written again


class Cursor(SQLModel, table=True):
    __tablename__ = "cursors"

    connection: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow)


class JournalEntry(SQLModel, table=True):
    """A write intent, saved before the write is sent, so a resumed run reuses its key."""

    __tablename__ = "journal"
    __table_args__ = (Index("ix_journal_pending", "connection", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    connection: str
    side: str
    kind: str
    source_id: str | None = None
    target_id: str | None = None
    status: str = "pending"
    error: str | None = None
    run_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class Run(SQLModel, table=True):
    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    connection: str = Field(index=True)
    trigger: str = "cli"
    status: str = "running"
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    worker: str | None = None  # host:pid of the queue worker that ran it (scale-out); None in-process
    queue_wait: float | None = None  # seconds between the first request and the start, for queued runs


class RunEvent(SQLModel, table=True):
    """What happened to one record in a run: what changed, why, errors, the losing value of a conflict."""

    __tablename__ = "run_events"
    __table_args__ = (Index("ix_run_events_record", "record_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(index=True)
    side: str | None = None
    record_id: str | None = None
    kind: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow)


class Retry(SQLModel, table=True):
    """A record whose write failed; the next run reads it again even when the change feed has moved on."""

    __tablename__ = "retries"

    connection: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    record_id: str = Field(primary_key=True)
    error: str = ""
    attempts: int = 1
    last_failed_at: datetime = Field(default_factory=utcnow)


class Credential(SQLModel, table=True):
    """A credential that rotates (a refresh token), persisted the moment it changes."""

    __tablename__ = "credentials"

    account: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str


class Lock(SQLModel, table=True):
    """At most one run per connection, across processes."""

    __tablename__ = "locks"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime


class Schedule(SQLModel, table=True):
    """When a scheduled connection is next due, shared by every process that ticks the queue (scale-out)."""

    __tablename__ = "schedules"

    connection: str = Field(primary_key=True)
    schedule: str
    next_due: datetime


class RunRequest(SQLModel, table=True):
    """What was asked of a connection since its queued run last began: a change-feed run and/or named records."""

    __tablename__ = "run_requests"

    connection: str = Field(primary_key=True)
    status: str = Field(default="waiting", primary_key=True)  # waiting, or taken by the job running now
    feed: bool = False
    full: bool = False
    triggers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    named: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    first_at: datetime = Field(default_factory=utcnow)


class AccountIdentity(SQLModel, table=True):
    """Which account a connection's side was synced with: links, cursors and the index belong to that account."""

    __tablename__ = "account_identities"

    connection: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    fingerprint: str
    described: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class AccountStatus(SQLModel, table=True):
    """An account whose credentials were refused (`needs reconnect`); healthy accounts have no row."""

    __tablename__ = "accounts"

    account: str = Field(primary_key=True)
    status: str
    reason: str = ""
    since: datetime = Field(default_factory=utcnow)


class Notice(SQLModel, table=True):
    """When a notification target last heard about one connection and event kind (no storms)."""

    __tablename__ = "notices"

    target: str = Field(primary_key=True)
    connection: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    sent_at: datetime = Field(default_factory=utcnow)


class ReviewItem(SQLModel, table=True):
    """Something waiting for a person in the dashboard's review queue.

    `kind` "pick": the user chose the losing value of a conflict; the next run writes `value` to both sides.
    `kind` "deletion": a deletion tag held by `deletions: {review: true}` until approved or dismissed.
    `status` pending -> approved | dismissed (deletions) -> done once a run applied it.
    """

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("connection", "kind", "side", "record_id", "field", name="uq_review_item"),
        Index("ix_review_queue", "connection", "kind", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection: str
    kind: str
    side: str
    record_id: str
    field: str = ""
    left_id: str
    right_id: str
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "pending"
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
