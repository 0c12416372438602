"""D1: dashboard pages against a large state store, rendered in-process (server-side time only).

The state is seeded straight into SQLite: `links` linked pairs (both sides in
the record index), 500 records linked to nothing (sorted after the linked ones,
the worst case for "not synced"), `runs` runs of 40 events each, 200 failures
and 100 held deletions. Each page is asked for once to warm up, then `repeat` times;
the median is reported against the 100 ms target.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert
from starlette.testclient import TestClient

from engine.config import load_config
from engine.service import ServiceSettings, build_app
from engine.state import tables as t
from engine.state.links import search_text
from engine.state.store import StateStore
from engine.testing.memory import MemoryStore

Result = dict[str, Any]
TARGET_MS = 100.0
EVENTS_PER_RUN = 40
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _config(folder: Path, state: Path) -> Path:
    tag = uuid.uuid4().hex[:8]
    MemoryStore.named(f"bench-l-{tag}")
    MemoryStore.named(f"bench-r-{tag}")
    path = folder / "pairsync.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "state": f"sqlite:///{state}",
                "accounts": {
                    "crm": {"connector": "memory", "settings": {"store": f"bench-l-{tag}"}},
                    "billing": {"connector": "memory", "settings": {"store": f"bench-r-{tag}"}},
                },
                "connections": [{"name": "people", "left": "crm", "right": "billing", "deletions": {"review": True}}],
            }
        )
    )
    return path


def _person(n: int) -> dict[str, Any]:
    return {"email": f"person{n:06d}@example.com", "name": f"Person {n:06d}", "phone": f"+1555{n:07d}"}


def seed(state: Path, links: int, runs: int) -> None:
    """Write the state directly: far faster than running syncs, and the same tables the dashboard reads."""
    store = StateStore(f"sqlite:///{state}")
    seen, pairs = [], []
    for n in range(links):
        fields = _person(n)
        for side, prefix in (("left", "L"), ("right", "R")):
            seen.append({"connection": "people", "side": side, "record_id": f"{prefix}{n:06d}",
                         "match_key": fields["email"], "fields": fields, "tags": [], "updated": T0,
                         "deleted": False, "unsubscribed": False, "linked": True,
                         "search": search_text(fields)})
        base = {"email|email": fields["email"], "name|name": fields["name"]}
        pairs.append({"connection": "people", "left_id": f"L{n:06d}", "right_id": f"R{n:06d}",
                      "base_left": base, "base_right": base, "created_at": T0, "updated_at": T0})
    unlinked = [{**row, "record_id": f"U{i:06d}", "match_key": f"solo{i}@example.com", "linked": False,
                 "fields": {"email": f"solo{i}@example.com", "name": f"Solo {i}"},
                 "search": f"solo {i} solo{i}@example.com"}
                for i, row in enumerate(seen[: 2 * min(500, links) : 2])]
    with store.engine.begin() as tx:
        for start in range(0, len(seen), 5000):
            tx.execute(insert(t.SeenRecord.__table__), seen[start : start + 5000])  # type: ignore[attr-defined]
        tx.execute(insert(t.SeenRecord.__table__), unlinked)  # type: ignore[attr-defined]
        for start in range(0, len(pairs), 5000):
            tx.execute(insert(t.Link.__table__), pairs[start : start + 5000])  # type: ignore[attr-defined]
        run_rows, events = [], []
        summary = {"created": {"left": 0, "right": 3}, "updated": {"left": 5, "right": 7}, "tagged": {"left": 0,
                   "right": 0}, "conflicts": 1, "failed": 1, "skipped": 0, "requests": {"left": 12, "right": 9}}
        for r in range(1, runs + 1):
            at = T0 + timedelta(minutes=15 * r)
            run_rows.append({"id": r, "connection": "people", "trigger": "schedule", "status": "ok",
                             "started_at": at, "finished_at": at + timedelta(seconds=20), "summary": summary})
            for e in range(EVENTS_PER_RUN):
                n = (r * EVENTS_PER_RUN + e) % max(links, 1)
                kind = ("updated", "created", "conflict", "failed")[e % 4]
                detail: dict[str, Any] = {
                    "updated": {"changes": {"name": [f"Person {n}", f"Person {n} B"]}},
                    "created": {"source_id": f"L{n:06d}", "fields": _person(n)},
                    "conflict": {"field": "name|name", "kept": "a", "losing_value": "b", "rule": "newest change wins",
                                 "left_id": f"L{n:06d}", "right_id": f"R{n:06d}"},
                    "failed": {"error": "update failed: rate limited"},
                }[kind]
                events.append({"run_id": r, "side": "right", "record_id": f"R{n:06d}", "kind": kind,
                               "detail": detail, "at": at})
        tx.execute(insert(t.Run.__table__), run_rows)  # type: ignore[attr-defined]
        for start in range(0, len(events), 5000):
            tx.execute(insert(t.RunEvent.__table__), events[start : start + 5000])  # type: ignore[attr-defined]
        failing = [{"connection": "people", "side": "right", "record_id": f"R{n:06d}", "error": "rate limited",
                    "attempts": 1, "last_failed_at": T0} for n in range(min(links, 200))]
        tx.execute(insert(t.Retry.__table__), failing)  # type: ignore[attr-defined]
    store.hold_deletions("people", [{"side": "right", "record_id": f"R{n:06d}", "left_id": f"L{n:06d}",
                                     "right_id": f"R{n:06d}", "tag": "pairsync Trash", "reason": "deleted"}
                                    for n in range(min(links, 100))])
    store.close()


def pages(links: int, runs: int) -> dict[str, str]:
    last = max(links - 1, 0)
    return {
        "connections": "/",
        "connection": "/ui/connections/people",
        "run": f"/ui/runs/{runs}",
        "run, searched": f"/ui/runs/{runs}?q=rate",
        "records": "/ui/connections/people/records",
        "records, last page": f"/ui/connections/people/records?after=right:R{max(last - 20, 0):06d}",
        "records, not synced": "/ui/connections/people/records?synced=no",
        "records, by email": f"/ui/connections/people/records?q=person{last:06d}@example.com",
        "records, by id": f"/ui/connections/people/records?q=R{last:06d}",
        "records, by name": f"/ui/connections/people/records?q=Person {last:06d}",
        "records, by a word inside the name": f"/ui/connections/people/records?q={last:06d}",
        "record": f"/ui/connections/people/records/right/R{last:06d}",
        "review": "/ui/connections/people/review",
        "failures": "/ui/connections/people/failures",
    }


def d1_pages(folder: Path, links: int = 100_000, runs: int = 1_000, repeat: int = 7) -> Result:
    state = folder / "state.db"
    started = time.perf_counter()
    seed(state, links, runs)
    seeded = time.perf_counter() - started
    app, _service = build_app(load_config(_config(folder, state)), ServiceSettings())
    timings: dict[str, float] = {}
    with TestClient(app) as client:
        for name, path in pages(links, runs).items():
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"D1: {path} answered {response.status_code}")
            samples = []
            for _ in range(repeat):
                began = time.perf_counter()
                client.get(path)
                samples.append((time.perf_counter() - began) * 1000)
            timings[name] = round(statistics.median(samples), 1)
    worst = max(timings, key=lambda k: timings[k])
    return {
        "id": "D1",
        "name": f"dashboard pages, server side (in-process, median of {repeat})",
        "size": f"{links} links / {runs} runs",
        "ms": timings,
        "worst": f"{worst} {timings[worst]} ms",
        "seed_seconds": round(seeded, 1),
        "target": f"every page <= {TARGET_MS:g} ms",
        "met": all(ms <= TARGET_MS for ms in timings.values()),
    }
