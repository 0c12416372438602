"""The review queue: conflict values a person picked, and deletion tags waiting for approval.

A run reads what is decided (`picks`, `decisions`) into the planner's input,
and closes what it applied (`close_reviews`); the dashboard adds and decides items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from engine.state import tables as t
from engine.state.database import Database, json_safe, redacted
from engine.state.tables import utcnow

_REVIEW = t.ReviewItem.__table__  # type: ignore[attr-defined]

PICK = "pick"
DELETION = "deletion"
DECIDED = ("approved", "dismissed")


class ReviewStore(Database):
    """Items of the review queue of each connection."""

    def pick_value(self, connection: str, left_id: str, right_id: str, key: str, value: Any) -> None:
        """Ask the next run to write `value` for mapping entry `key` to both records of a link."""
        row = {
            "connection": connection,
            "kind": PICK,
            "side": "both",
            "record_id": left_id,
            "field": key,
            "left_id": left_id,
            "right_id": right_id,
            "value": json_safe(redacted(value)),
            "detail": {},
            "status": "pending",
            "created_at": utcnow(),
            "decided_at": utcnow(),
        }
        self._put(row, ("value", "right_id", "status", "decided_at"))

    def picks(self, connection: str) -> dict[tuple[str, str], Any]:
        """Pending picks by (left id, mapping key)."""
        query = select(_REVIEW.c.left_id, _REVIEW.c.field, _REVIEW.c.value).where(
            _REVIEW.c.connection == connection, _REVIEW.c.kind == PICK, _REVIEW.c.status == "pending"
        )
        with self._tx() as tx:
            return {(left, key): value for left, key, value in tx.execute(query)}

    def hold_deletions(self, connection: str, held: Sequence[dict[str, Any]]) -> None:
        """Deletion tags a run did not apply because the connection reviews deletions; kept once each."""
        for item in held:
            row = {
                "connection": connection,
                "kind": DELETION,
                "side": item["side"],
                "record_id": item["record_id"],
                "field": "",
                "left_id": item["left_id"],
                "right_id": item["right_id"],
                "value": None,
                "detail": json_safe(redacted({"tag": item["tag"], "reason": item["reason"]})),
                "status": "pending",
                "created_at": utcnow(),
                "decided_at": None,
            }
            self._put(row, ())

    def decide(self, connection: str, item_ids: Iterable[int], decision: str) -> int:
        """Approve or dismiss pending deletions; returns how many changed."""
        if decision not in DECIDED:
            raise ValueError(f"a decision is one of {DECIDED}, not {decision!r}")
        ids = list(item_ids)
        if not ids:
            return 0
        with self._tx() as tx:
            result = tx.execute(
                update(_REVIEW)
                .where(
                    _REVIEW.c.connection == connection,
                    _REVIEW.c.kind == DELETION,
                    _REVIEW.c.status == "pending",
                    _REVIEW.c.id.in_(ids),
                )
                .values(status=decision, decided_at=utcnow())
            )
            return int(result.rowcount or 0)

    def decisions(self, connection: str) -> dict[tuple[str, str], str]:
        """Decided deletions not applied yet, by (side to tag, record id): "approved" or "dismissed"."""
        query = select(_REVIEW.c.side, _REVIEW.c.record_id, _REVIEW.c.status).where(
            _REVIEW.c.connection == connection, _REVIEW.c.kind == DELETION, _REVIEW.c.status.in_(DECIDED)
        )
        with self._tx() as tx:
            return {(side, record_id): status for side, record_id, status in tx.execute(query)}

    def close_reviews(
        self, connection: str, picks: Iterable[tuple[str, str]], deletions: Iterable[tuple[str, str]]
    ) -> None:
        """Mark picks (left id, key) and decided deletions (side, record id) as applied by a run."""
        pick_keys, deletion_keys = list(picks), list(deletions)
        conditions = [
            and_(_REVIEW.c.kind == PICK, _REVIEW.c.record_id == left, _REVIEW.c.field == key)
            for left, key in pick_keys
        ] + [
            and_(_REVIEW.c.kind == DELETION, _REVIEW.c.side == side, _REVIEW.c.record_id == rid)
            for side, rid in deletion_keys
        ]
        for start in range(0, len(conditions), 200):
            with self._tx() as tx:
                tx.execute(
                    update(_REVIEW)
                    .where(
                        _REVIEW.c.connection == connection,
                        _REVIEW.c.status.in_(("pending", *DECIDED)),
                        or_(*conditions[start : start + 200]),
                    )
                    .where(~and_(_REVIEW.c.kind == DELETION, _REVIEW.c.status == "pending"))
                    .values(status="done")
                )

    def review_items(
        self, connection: str, kind: str, status: str = "pending", limit: int = 50, before: int | None = None
    ) -> list[dict[str, Any]]:
        """One page of the queue, newest first (keyset on id)."""
        query = select(_REVIEW).where(
            _REVIEW.c.connection == connection, _REVIEW.c.kind == kind, _REVIEW.c.status == status
        )
        if before is not None:
            query = query.where(_REVIEW.c.id < before)
        with self._tx() as tx:
            return [dict(r) for r in tx.execute(query.order_by(_REVIEW.c.id.desc()).limit(limit)).mappings()]

    def count_review(self, connection: str, kind: str, status: str = "pending") -> int:
        query = select(func.count()).select_from(_REVIEW).where(
            _REVIEW.c.connection == connection, _REVIEW.c.kind == kind, _REVIEW.c.status == status
        )
        with self._tx() as tx:
            return int(tx.execute(query).scalar_one())

    def _put(self, row: dict[str, Any], refresh: tuple[str, ...]) -> None:
        statement = self._upsert(_REVIEW)
        keys = ["connection", "kind", "side", "record_id", "field"]
        statement = (
            statement.on_conflict_do_update(index_elements=keys, set_={k: statement.excluded[k] for k in refresh})
            if refresh
            else statement.on_conflict_do_nothing(index_elements=keys)
        )
        with self._tx() as tx:
            tx.execute(statement, row)
