"""Harness: write a config, serve the service with uvicorn on loopback (in a thread or a child process)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from engine.config import load_config
from engine.sandbox import bound_socket
from engine.service import ServiceSettings, build_app
from engine.testing.memory import MemoryStore

PAIRSYNC = str(Path(sys.executable).parent / "pairsync")  # the venv running the tests, wherever it is
LISTENING = re.compile(r"serving \S+ on http://127\.0\.0\.1:(\d+)")
FAST = ServiceSettings(shutdown_grace=5.0, webhook_debounce=0.2, config_watch=0.2)


def wait_for(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    """Poll until `check()` is truthy and return it; fail the test with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(every)
        value = check()
    return value


def write_config(
    path: Path, accounts: dict[str, Any], connections: list[dict[str, Any]], state: str | None = None
) -> Path:
    data: dict[str, Any] = {"accounts": accounts, "connections": connections}
    if state:
        data["state"] = state
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def memory_account(store: str, file: Path | None = None) -> dict[str, Any]:
    settings: dict[str, Any] = {"store": store}
    if file is not None:
        settings["file"] = str(file)
    return {"connector": "memory", "settings": settings}


class RunningService:
    """The service's ASGI app under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, config: Path, settings: ServiceSettings = FAST) -> None:
        self.app, self.service = build_app(load_config(config), settings)
        self.socket = bound_socket()
        self.port = int(self.socket.getsockname()[1])
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        token = settings.token
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=30,
        )

    def __enter__(self) -> RunningService:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive())
        assert self.server.started, "service did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()

    def runs(self, **params: Any) -> list[dict[str, Any]]:
        response = self.http.get("/runs", params=params)
        response.raise_for_status()
        return list(response.json()["runs"])


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningService]]:
    started: list[RunningService] = []

    def start(config: Path, settings: ServiceSettings = FAST) -> RunningService:
        running = RunningService(config, settings).__enter__()
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.__exit__()


@pytest.fixture
def stores() -> Iterator[Callable[[str], MemoryStore]]:
    """Named in-memory stores unique to the test (the service in its thread shares them)."""
    names: list[str] = []

    def make(label: str) -> MemoryStore:
        name = f"{label}-{uuid.uuid4().hex[:8]}"
        names.append(name)
        return MemoryStore.named(name)

    yield make
    for name in names:
        MemoryStore.forget(name)


def store_name(store: MemoryStore) -> str:
    return next(name for name, known in MemoryStore._named.items() if known is store)


class ServiceProcess:
    """`pairsync serve` as a child process, stopped with a real SIGTERM."""

    def __init__(self, config: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.log = config.parent / f"serve-{uuid.uuid4().hex[:8]}.log"
        self.process = subprocess.Popen(  # port 0: the service binds a free port itself and logs which
            [PAIRSYNC, "serve", str(config), "--port", "0", *args],
            env={**os.environ, "PAIRSYNC_WEBHOOK_DEBOUNCE": "0.2", "PAIRSYNC_CONFIG_WATCH": "0.5", **(env or {})},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.port = int(wait_for(self._listening, timeout=60, every=0.05))
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        assert self.http.get("/healthz").status_code == 200

    def _listening(self) -> str | None:
        if self.process.poll() is not None:
            pytest.fail(f"pairsync serve exited early:\n{self.log.read_text()}")
        found = LISTENING.search(self.log.read_text())
        return found.group(1) if found else None

    def terminate(self, timeout: float) -> tuple[int, float]:
        """SIGTERM; the exit code and the seconds it took to exit."""
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - began

    def close(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def processes() -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(config: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> ServiceProcess:
        started.append(ServiceProcess(config, env, args))
        return started[-1]

    yield start
    for process in started:
        process.close()


