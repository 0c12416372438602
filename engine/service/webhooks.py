"""Webhooks: the account's connector verifies the signature, a burst is coalesced into one targeted sync.

A delivery is remembered by the digest of its body (a signed body cannot
change), in the state store, so a replayed or re-delivered event has no
second effect even when another service process received the first copy.
An event is a hint: the records it names are read again with `get(id)`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from engine.config.loaded import LoadedConfig
from engine.config.models import Connection
from engine.connector import Connector, ConnectorContext, WebhookError
from engine.planner.model import SIDES, Side
from engine.secrets import REDACTOR
from engine.service.history import claim_delivery
from engine.service.metrics import Metrics
from engine.service.runs import Runs
from engine.service.targeted import targeted_reader
from engine.state.store import StateStore

log = logging.getLogger("pairsync.service")


@dataclass(frozen=True)
class Delivery:
    """The answer to one webhook POST."""

    status: int
    body: Mapping[str, object] = field(default_factory=dict)


class Verifiers:
    """One connector per account, kept for checking signatures (Stripe's check needs its SDK client)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._connectors: dict[str, Connector] = {}

    def for_account(self, loaded: LoadedConfig, account: str) -> Connector | None:
        setup = loaded.accounts.get(account)
        if setup is None:
            return None
        if account not in self._connectors:
            context = ConnectorContext(
                account,
                lambda key: self.store.credential(account, key),
                lambda key, value: self.store.save_credential(account, key, value),
            )
            self._connectors[account] = setup.connector(setup.settings, context)
        return self._connectors[account]

    async def aclose(self) -> None:
        """Close every connector (on shutdown, and on reload since settings may have changed)."""
        connectors, self._connectors = self._connectors, {}
        for connector in connectors.values():
            await connector.aclose()


class Coalescer:
    """Collects named ids per connection and side; one targeted run per quiet period drains them."""

    def __init__(self, runs: Runs, debounce: float) -> None:
        self.runs = runs
        self.debounce = debounce
        self.pending: dict[str, dict[Side, set[str]]] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}

    def add(self, connection: str, side: Side, ids: list[str]) -> None:
        self.pending.setdefault(connection, {}).setdefault(side, set()).update(ids)
        if connection not in self._flushers:
            self._flushers[connection] = asyncio.create_task(self._flush(connection), name=f"webhooks:{connection}")

    async def _flush(self, connection: str) -> None:
        try:
            while True:
                await asyncio.sleep(self.debounce)
                named = self.pending.pop(connection, None)
                if not named:
                    return
                report = await self.runs.run(connection, "webhook", reader=targeted_reader(named))
                if report is None:
                    return  # stopping: the next scheduled run reads these changes from the feed
                if report.status == "busy":  # another process runs this connection: try again shortly
                    self._merge(connection, named)
        finally:
            self._flushers.pop(connection, None)

    def _merge(self, connection: str, named: dict[Side, set[str]]) -> None:
        for side, ids in named.items():
            self.pending.setdefault(connection, {}).setdefault(side, set()).update(ids)

    async def aclose(self) -> None:
        for task in list(self._flushers.values()):
            task.cancel()
        await asyncio.gather(*self._flushers.values(), return_exceptions=True)


class Gatherer(Protocol):
    """Where the records a webhook names go: the in-process `Coalescer`, or the queue's."""

    def add(self, connection: str, side: Side, ids: list[str]) -> None: ...

    async def aclose(self) -> None: ...


class Webhooks:
    def __init__(
        self,
        store: StateStore,
        metrics: Metrics,
        coalescer: Gatherer,
        active: Callable[[], list[Connection]],
        memory: timedelta,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.coalescer = coalescer
        self.active = active
        self.memory = memory
        self.verifiers = Verifiers(store)

    def receive(
        self, loaded: LoadedConfig, account: str, headers: Mapping[str, str], body: bytes, token: str | None = None
    ) -> Delivery:
        connector = self.verifiers.for_account(loaded, account)
        if connector is None:
            return self._count("(unknown)", "rejected", Delivery(404, {"error": f"no account named {account!r}"}))
        try:
            ids = connector.verify_webhook_at(token, headers, body)
        except WebhookError as error:
            log.warning("webhook for %s rejected: %s", account, REDACTOR.redact(str(error)))
            return self._count(account, "rejected", Delivery(400, {"error": REDACTOR.redact(str(error))}))
        except Exception as error:  # noqa: BLE001 - a body the connector cannot read is the sender's fault
            log.warning("webhook for %s rejected: unreadable body (%s)", account, type(error).__name__)
            unreadable = {"error": "the body is not an event this account's connector can read"}
            return self._count(account, "rejected", Delivery(400, unreadable))
        targets = [(c.name, side) for c in self.active() for side in SIDES if _account(c, side) == account]
        if not targets:
            ignored = {"status": "ignored", "reason": "no enabled connection uses this account"}
            return self._count(account, "ignored", Delivery(200, ignored))
        if not claim_delivery(self.store, account, hashlib.sha256(body).hexdigest(), self.memory):
            return self._count(account, "duplicate", Delivery(200, {"status": "duplicate"}))
        if ids:
            for connection, side in targets:
                self.coalescer.add(connection, side, ids)
        return self._count(account, "accepted", Delivery(202, {"status": "accepted", "records": ids}))

    def check(self, loaded: LoadedConfig, account: str, token: str) -> Delivery:
        """An app's GET check of its webhook URL: 200 only for a known account whose connector accepts the token."""
        connector = self.verifiers.for_account(loaded, account)
        if connector is None or not connector.webhook_check(token):
            return Delivery(404, {"error": "no such webhook"})
        return Delivery(200, {"status": "ok"})

    def _count(self, account: str, result: str, delivery: Delivery) -> Delivery:
        self.metrics.webhooks.labels(account, result).inc()
        if result != "rejected":  # a rejection has its own warning line
            ids = delivery.body.get("records")
            records = len(ids) if isinstance(ids, list) else 0
            log.info("webhook for %s: %s, %d records", account, result, records,
                     extra={"account": account, "result": result, "records": records})
        return delivery

    async def aclose(self) -> None:
        await self.coalescer.aclose()
        await self.verifiers.aclose()


def _account(connection: Connection, side: Side) -> str:
    return connection.left if side == "left" else connection.right
