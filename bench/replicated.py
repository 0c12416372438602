"""B3R: B3 at sizes a real initial sync cannot build here in minutes (1,000,000 linked records).

A real B1 at a small size (zero latency) leaves a real linked state and real reads of both sides.
They are replicated to `count` linked pairs: each copy gets new ids, its own email and phone
(still in normal form, as the apps return them), and everything else as the sample had it. The
copies are saved through the state store's own API (`remember`, `save_links`, with the bases a sync
leaves: each side's projection), then B3's figures are taken on a full re-read made of the copies.

What differs from B3: the reads are built in memory, not listed over HTTP (B3 does not count the
reading anyway), and most field values repeat (B3's own data has 100 names and 3 segments too).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.harness import CONNECTION, Pair
from engine.planner.model import SIDES, Base, Link, Side
from engine.records import Record
from engine.runner import Session, SideRead
from engine.state.store import StateStore

SAMPLE = 1_000
_PHONE = re.compile(r"\+1[2-9][0-9]{9}")


def b3_replicated(folder: Path, count: int, sample: int = SAMPLE) -> scenarios.Result:
    with Pair(folder, scenarios.UNLIMITED, scenarios.UNLIMITED, retry_wait_s=5.0, timeout_s=60.0) as pair:
        pair.stripe.seed(min(sample, count))
        loaded = pair.load()
        pair.run(loaded, pair.store(loaded))
        session = Session(loaded, loaded.config.connection(CONNECTION), pair.store(loaded))
        reads = asyncio.run(scenarios._read_both(session))
        links = session.store.links(CONNECTION)
    store = StateStore(f"sqlite:///{folder / 'replicated.db'}")
    copies, copied_links = _replicate(reads, links, count, session)
    field = session.connection.match.left or "email"
    for side in SIDES:
        store.remember(CONNECTION, side, list(copies[side].changes.values()), field)
    store.save_links(CONNECTION, copied_links)
    big = Session(loaded, loaded.config.connection(CONNECTION), store)
    result = scenarios.b3_figures(big, store, copies, count)
    return {**result, "id": "B3R", "name": "engine CPU per linked record, replicated state (see bench/replicated.py)",
            "sample": sample}


def _replicate(
    reads: dict[Side, SideRead], links: list[Link], count: int, session: Session
) -> tuple[dict[Side, SideRead], list[Link]]:
    """`count` linked pairs made from the sample's, with their records as a full re-read returns them."""
    mapper = session.prepared.mapper
    out: dict[Side, SideRead] = {side: SideRead(complete=True, feed=True) for side in SIDES}
    copied: list[Link] = []
    sample = [link for link in links if all(link.id_of(s) in reads[s].changes for s in SIDES)]
    for number in range(count):
        link = sample[number % len(sample)]
        copy = number // len(sample)
        pair = {side: reads[side].changes[link.id_of(side)] for side in SIDES}
        subs = _substitutions(link, pair["left"], copy)
        made = {side: _copied(pair[side], subs) for side in SIDES}
        for side in SIDES:
            out[side].changes[made[side].id] = made[side]
        base = Base(mapper.project("left", made["left"]), mapper.project("right", made["right"]))
        copied.append(Link(made["left"].id, made["right"].id, base))
    return out, copied


def _substitutions(link: Link, left: Record, copy: int) -> dict[str, str]:
    """New ids, email and phone for one copy of a linked pair (the same on both sides, as synced)."""
    subs = {link.left_id: f"{link.left_id}r{copy}", link.right_id: f"{link.right_id}r{copy}"}
    for value in left.fields.values():
        if isinstance(value, str) and "@" in value:
            subs[value] = value.replace("@", f".r{copy}@", 1)
        elif isinstance(value, str) and _PHONE.fullmatch(value):
            subs[value] = f"{value[:5]}{(int(value[5:]) + 7919 * copy) % 10**7:07d}"
    return subs


def _copied(record: Record, subs: dict[str, str]) -> Record:
    fields: dict[str, Any] = {
        name: subs.get(value, value) if isinstance(value, str) else value for name, value in record.fields.items()
    }
    return replace(record, id=subs.get(record.id, record.id), fields=fields)
