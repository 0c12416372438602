"""Sandboxes on loopback plus a config that joins them: what every benchmark and reliability test starts from.

`Pair` starts a Stripe sandbox (left) and a Google Contacts sandbox (right)
with the shared latency/rate-limit knobs, writes a `pairsync.yaml` whose
secrets are `${VAR}` references (so the engine's REDACTOR knows them), and
runs the connection through the engine's own `run_connection`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.stripe.sandbox import StripeSandbox
from engine.config import LoadedConfig, load_config
from engine.runner import Report, run_connection
from engine.sandbox import Knobs, SandboxServer
from engine.state.store import StateStore

CONNECTION = "stripe-google"
# Name <-> given/family name plus the fields both sides share; `segment` rides in custom fields.
MAPPING_FIELDS = [
    {"left": "name", "right": ["givenName", "familyName"]},
    {"left": "metadata.segment", "right": "userDefined.segment"},
]


@dataclass(frozen=True)
class SideKnobs:
    """What a sandbox imposes (latency, server-side rate) and what the connector is told it may use."""

    latency_ms: float = 0.0
    rate_per_second: float = 0.0  # 0: the sandbox does not throttle
    client_rate_per_second: float = 2000.0

    def describe(self) -> str:
        rate = f"{self.rate_per_second:g}/s" if self.rate_per_second else "unlimited"
        return f"latency {self.latency_ms:g} ms, rate limit {rate}"


@dataclass
class Pair:
    """A Stripe sandbox and a Google Contacts sandbox on loopback, and a config that syncs them two-way."""

    folder: Path
    stripe_knobs: SideKnobs = field(default_factory=SideKnobs)
    google_knobs: SideKnobs = field(default_factory=SideKnobs)
    state_url: str | None = None
    retry_wait_s: float = 2.0
    timeout_s: float = 10.0
    partitions: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)
    stripe: StripeSandbox = field(init=False)
    google: GoogleContactsSandbox = field(init=False)
    servers: dict[str, SandboxServer] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.stripe = StripeSandbox()
        self.google = GoogleContactsSandbox(client_secret=f"gsecret-{os.urandom(6).hex()}",
                                            refresh_token=f"1//grefresh-{os.urandom(8).hex()}")

    def start(self) -> Pair:
        self.servers["stripe"] = SandboxServer(self.stripe, knobs=_knobs(self.stripe_knobs)).start()
        self.servers["google"] = SandboxServer(self.google, knobs=_knobs(self.google_knobs)).start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Pair:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # config -----------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """The environment the config's `${VAR}` references read."""
        stripe = self.servers["stripe"].settings()
        google = self.servers["google"].settings()
        return {
            "BENCH_STRIPE_KEY": stripe["api_key"],
            "BENCH_STRIPE_WEBHOOK": stripe["webhook_secret"],
            "BENCH_GOOGLE_SECRET": google["client_secret"],
            "BENCH_GOOGLE_REFRESH": google["refresh_token"],
        }

    def config_data(self) -> dict[str, Any]:
        stripe = self.servers["stripe"]
        google = self.servers["google"].settings()
        per_minute = self.google_knobs.client_rate_per_second * 60
        return {
            **({"state": self.state_url} if self.state_url else {}),
            "accounts": {
                "stripe": {
                    "connector": "stripe",
                    "settings": {
                        "base_url": stripe.base_url,
                        "api_key": "${BENCH_STRIPE_KEY}",
                        "webhook_secret": "${BENCH_STRIPE_WEBHOOK}",
                        "requests_per_second": self.stripe_knobs.client_rate_per_second,
                        "max_retry_wait_seconds": self.retry_wait_s,
                        "timeout_seconds": self.timeout_s,
                        "partitions": self.partitions,
                    },
                },
                "google": {
                    "connector": "google_contacts",
                    "settings": {
                        "base_url": google["base_url"],
                        "token_url": google["token_url"],
                        "client_id": google["client_id"],
                        "client_secret": "${BENCH_GOOGLE_SECRET}",
                        "refresh_token": "${BENCH_GOOGLE_REFRESH}",
                        "read_requests_per_minute": per_minute,
                        "write_requests_per_minute": per_minute,
                        "max_retry_wait_seconds": self.retry_wait_s,
                        "timeout_seconds": self.timeout_s,
                    },
                },
            },
            "connections": [
                {
                    "name": CONNECTION,
                    "left": "stripe",
                    "right": "google",
                    "direction": "two-way",
                    "mapping": {"fields": MAPPING_FIELDS},
                    **self.extra,
                }
            ],
        }

    def write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "pairsync.yaml"
        path.write_text(yaml.safe_dump(self.config_data(), sort_keys=False))
        return path

    def load(self) -> LoadedConfig:
        return load_config(self.write_config(), environ={**os.environ, **self.secrets()})

    def store(self, loaded: LoadedConfig) -> StateStore:
        return StateStore(loaded.state_url)

    def run(self, loaded: LoadedConfig, store: StateStore, **options: Any) -> Report:
        connection = loaded.config.connection(CONNECTION)
        return asyncio.run(run_connection(loaded, connection, store, **options))

    def requests(self) -> dict[str, int]:
        """Requests each sandbox has answered so far (rejected ones included)."""
        return {name: server.knobs.requests for name, server in self.servers.items()}


def _knobs(side: SideKnobs) -> Knobs:
    return Knobs(latency_ms=side.latency_ms, rate_limit=side.rate_per_second)
