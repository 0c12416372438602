"""A tripwire in front of both sandboxes of a pair: it SIGKILLs the run in flight at a chosen request.

The crash suite used to sleep a random time and kill whatever was running:
most kills then landed during interpreter start-up or in runs with nothing
left to write. Here the sandboxes themselves pull the trigger, so every kill
lands inside a run at a known moment, whatever the machine's speed:

- `read`: the n-th read request of the run is in flight and nothing was written yet;
- `write-before`: the n-th write request is in flight, the app has not acted on it;
- `write-after`: the app acted on the n-th write; its answer never reaches the run.

A request a run makes after another side already saw a write counts as a
write-phase request. The kill waits for the run process to be attached, so
no start-up race decides where it lands.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import Pair
from engine.sandbox import Knobs, SandboxServer

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class Kill:
    """Where one kill landed, as the sandboxes and the journal saw it."""

    trigger: str  # read, write-before, write-after
    reads: int  # read requests this run made before the kill
    writes: int  # write requests this run made before the kill (the one in flight included)
    on_write: bool  # the request in flight at the kill was a write
    pending: int = 0  # journal entries left pending by the killed run (and earlier ones)

    @property
    def during_writes(self) -> bool:
        """Writes were in flight and the journal holds intents the run never finished."""
        return self.writes > 0 and self.pending > 0

    @property
    def during_reads(self) -> bool:
        return self.writes == 0 and not self.on_write


class Tripwire:
    """Counts each run's reads and writes across both sandboxes; kills the run at its armed request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attached = threading.Event()
        self.process: subprocess.Popen[str] | None = None
        self.trigger: str | None = None
        self.at = 0
        self.reads = self.writes = 0
        self.fired: Kill | None = None

    def arm(self, trigger: str | None, at: int) -> None:
        """Before a run starts: kill it at request `at` of the kind `trigger` names (None: never)."""
        with self.lock:
            self.trigger, self.at, self.reads, self.writes, self.fired = trigger, at, 0, 0, None
            self.process = None
            self.attached.clear()

    def attach(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.attached.set()

    def wrap(self, app: Any) -> Any:
        async def wired(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or str(scope["path"]).endswith("/token"):
                await app(scope, receive, send)  # OAuth token refreshes are neither reads nor writes of records
                return
            when = self._count(scope["method"] not in READ_METHODS)
            if when == "before":
                self._kill()
                return  # the app never acts on it
            if when == "after":
                send = self._killing_send(send)
            await app(scope, receive, send)

        return wired

    def _count(self, is_write: bool) -> str | None:
        """Count one request; "before"/"after" when it is the one the kill lands on."""
        with self.lock:
            self.writes += is_write
            self.reads += not is_write
            if self.fired is not None or self.trigger is None:
                return None
            reads_done = is_write or self.reads >= self.at  # writes started early: the kill lands on the first
            if not (reads_done if self.trigger == "read" else is_write and self.writes >= self.at):
                return None
            self.fired = Kill(self.trigger, self.reads, self.writes, is_write)
            return "after" if self.trigger == "write-after" else "before"

    def _killing_send(self, send: Any) -> Any:
        async def kill_then_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self._kill()  # the app has acted; its answer goes nowhere
            await send(message)

        return kill_then_send

    def _kill(self) -> None:
        self.attached.wait(timeout=60)
        assert self.process is not None, "a run made requests before it was attached to the tripwire"
        self.process.kill()
        self.process.wait(timeout=60)


class Wired:
    """A sandbox whose ASGI app sits behind a tripwire or a gate; everything else is the sandbox's own."""

    def __init__(self, sandbox: Any, wire: Tripwire | Gate) -> None:
        self.sandbox, self.wire = sandbox, wire

    def app(self) -> Any:
        return self.wire.wrap(self.sandbox.app())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sandbox, name)


def wire_pair(pair: Pair, wire: Tripwire) -> Pair:
    """Start the pair's sandboxes with the tripwire in front of both apps (instead of `pair.start()`)."""
    for name, knobs in (("stripe", pair.stripe_knobs), ("google", pair.google_knobs)):
        sandbox = Wired(getattr(pair, name), wire)
        knob = Knobs(latency_ms=knobs.latency_ms, rate_limit=knobs.rate_per_second)
        pair.servers[name] = SandboxServer(sandbox, knobs=knob).start()  # type: ignore[arg-type]
    return pair


def pending_intents(folder: Path) -> int:
    """Journal entries of the pair's state store still pending (written intents whose answer never came)."""
    path = folder / ".pairsync" / "state.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from journal where status = 'pending'").fetchone()[0])


class Gate:
    """Holds every write request at the sandbox until opened: a run is then known to be mid-write, at no
    particular speed. `held` counts the writes waiting (a positive sign the run has reached its writes)."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.held = 0

    def wrap(self, app: Any) -> Any:
        async def gated(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["method"] not in READ_METHODS:
                self.held += 1
                await asyncio.to_thread(self.opened.wait)
                self.held -= 1
            await app(scope, receive, send)

        return gated

    def open(self) -> None:
        self.opened.set()
