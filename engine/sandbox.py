"""Serving a connector's sandbox on loopback, with latency, rate-limit and fault knobs.

The sandbox itself (paths, encodings, envelopes) lives in its connector's
folder; this module only runs it and applies the knobs every API shares.

Fault kinds (`Knobs.faults`, kind -> probability per request):
- "429", "500", "502", "503": the API's own error envelope, before the sandbox acts;
- "timeout": a stall of `timeout_s` before the sandbox acts (the client gives up first);
- "reset": the sandbox acts, then the connection drops halfway through its answer
  (the client sees the status line, then `httpx.RemoteProtocolError`) - the worst
  case for a write: it landed but its answer was lost;
- "malformed": the sandbox acts, then its answer arrives cut in half under a
  consistent Content-Length: a 200 whose JSON does not parse.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from engine.connector import Sandbox

FAULT_KINDS = ("429", "500", "502", "503", "timeout", "reset", "malformed")
AFTER_THE_APP = frozenset({"reset", "malformed"})  # faults that let the sandbox act first


@dataclass
class Knobs:
    """Per-request behaviour shared by every sandbox. Tests and benchmarks change it live."""

    latency_ms: float = 0.0
    rate_limit: float = 0.0  # requests per second, in each of the sandbox's quota buckets; 0 means unlimited
    faults: dict[str, float] = field(default_factory=dict)  # kind -> probability
    timeout_s: float = 30.0
    fault_paths: tuple[str, ...] = ()  # when set, faults hit only requests whose path contains one of these
    requests: int = 0
    rejected: int = 0  # answered with an error or cut short
    stalls: int = 0  # held past the client's timeout ("timeout" faults)
    log: list[str] | None = None  # when a list: "METHOD /path?query" of every request, in the order they arrive


@dataclass
class Bucket:
    """A token bucket holding at most one second's requests."""

    rate: float
    allowance: float
    last: float

    def take(self) -> float | None:
        """None when a request may pass now; otherwise the seconds until one may."""
        now = time.monotonic()
        self.allowance = min(self.rate, self.allowance + (now - self.last) * self.rate)
        self.last = now
        if self.allowance >= 1.0:
            self.allowance -= 1.0
            return None
        return max((1.0 - self.allowance) / self.rate, 0.01)


class KnobsMiddleware:
    """ASGI middleware: count, delay, throttle and inject faults before the sandbox answers."""

    def __init__(self, app: Any, sandbox: Sandbox, knobs: Knobs, rng_seed: int = 0) -> None:
        self.app = app
        self.sandbox = sandbox
        self.knobs = knobs
        self.rng = random.Random(rng_seed)
        self._buckets: dict[str, Bucket] = {}
        self._rate = 0.0
        self._set_at = time.monotonic()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.knobs.requests += 1
        if self.knobs.log is not None:
            query = scope.get("query_string", b"").decode("latin-1")
            self.knobs.log.append(f"{scope['method']} {scope['path']}" + (f"?{query}" if query else ""))
        if self.knobs.latency_ms:
            await asyncio.sleep(self.knobs.latency_ms / 1000)
        faulty = not self.knobs.fault_paths or any(part in scope["path"] for part in self.knobs.fault_paths)
        response = self._throttled(scope) or (await self._fault() if faulty else None)
        if response is not None:
            self.knobs.rejected += 1
            await response(scope, receive, send)
            return
        kind = self._draw(AFTER_THE_APP) if faulty else None
        if kind is not None:
            self.knobs.rejected += 1
            send = cut_short(send, drop_connection=kind == "reset")
        await self.app(scope, receive, send)

    def _throttled(self, scope: Any) -> Any:
        rate = self.knobs.rate_limit
        if not rate:
            return None
        if rate != self._rate:  # a new limit starts with empty buckets, whenever it is set
            self._rate, self._set_at = rate, time.monotonic()
            self._buckets.clear()
        group = self.sandbox.quota(scope["method"], scope["path"])
        bucket = self._buckets.setdefault(group, Bucket(rate, 0.0, self._set_at))  # filling since the limit was set
        wait = bucket.take()
        return None if wait is None else self.sandbox.error_response(429, retry_after=wait)

    def _draw(self, kinds: frozenset[str]) -> str | None:
        """One of `kinds`, each with its set probability, or None."""
        for kind, probability in self.knobs.faults.items():
            if kind in kinds and probability and self.rng.random() < probability:
                return kind
        return None

    async def _fault(self) -> Any:
        kind = self._draw(frozenset(FAULT_KINDS) - AFTER_THE_APP)
        if kind == "timeout":
            self.knobs.stalls += 1
            await asyncio.sleep(self.knobs.timeout_s)
            return None
        if kind is not None:
            return self.sandbox.error_response(int(kind), retry_after=0.05 if kind == "429" else None)
        return None


def cut_short(send: Any, drop_connection: bool) -> Any:
    """An ASGI `send` that delivers only the first half of the answer's body.

    Dropping the connection: the status line and headers go out as they are, then
    half the body, then the app returns with the answer incomplete and uvicorn
    closes the socket. Otherwise: the same status with a Content-Length that
    matches the half, so the answer is complete on the wire but not valid JSON.
    """
    start: dict[str, Any] = {}
    body = bytearray()

    async def cut(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body" or not start:
            await send(message)
            return
        body.extend(message.get("body", b""))
        if message.get("more_body", False):
            return
        half = bytes(body[: len(body) // 2])
        if drop_connection:
            await send(start)
            await send({"type": "http.response.body", "body": half, "more_body": True})
            return
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(half)).encode())]})
        await send({"type": "http.response.body", "body": half})

    return cut


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A socket already bound (port 0: the OS picks a free one), handed to the server as it is.

    Binding here and serving on this very socket leaves no moment in which
    another process could take the port (asking for a free port, closing it
    and binding it again later would).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)  # connections wait in the backlog until the server accepts them, never refused
    return sock


class SandboxServer:
    """Runs a sandbox with uvicorn in a background thread, on loopback."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, knobs: Knobs | None = None) -> None:
        self.sandbox = sandbox
        self.host = host
        self._socket = bound_socket(host, port)
        self.port = int(self._socket.getsockname()[1])
        self.knobs = knobs or Knobs()
        app = KnobsMiddleware(sandbox.app(), sandbox, self.knobs, rng_seed=sandbox.rng_seed)
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self) -> dict[str, Any]:
        return self.sandbox.settings(self.base_url)

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox {self.sandbox.connector_name} did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def serve_forever(self) -> None:
        """Serve until interrupted; call after `start()`, which returns once the port accepts connections.

        A caller that announces the address (the CLI prints the settings) does so between the two,
        so a client reading that announcement never meets a refused connection.
        """
        if self._thread is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _run(self) -> None:
        """The server thread: uvicorn on the socket bound at construction (no window for another to take it)."""
        self._server.run(sockets=[self._socket])

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
