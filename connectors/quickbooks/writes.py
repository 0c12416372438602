"""Creates and sparse updates through the batch endpoint, one result per request.

Each batch carries a `requestid` derived from its requests' journal keys, so
a retried or resumed batch is applied once. Items that fail with a stale
SyncToken (5010) are re-read, merged again and retried once; a DisplayName
clash (6240) is linked or disambiguated once (see README). Nothing loops.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from connectors.quickbooks import fields as flat
from connectors.quickbooks import query
from connectors.quickbooks.api import QuickBooksApi
from connectors.quickbooks.errors import (
    DUPLICATE_NAME,
    STALE_SYNC_TOKEN,
    Fault,
    QuickBooksError,
    QuickBooksRevoked,
    parse_fault,
)
from engine.records import WriteRequest, WriteResult, match_key


@dataclass(frozen=True)
class Item:
    """One request turned into a batch item."""

    index: int
    request: WriteRequest
    customer: dict[str, Any]

    @property
    def operation(self) -> str:
        return "create" if self.request.id is None else "update"


def request_id(keys: Sequence[str], round_name: str) -> str:
    """A stable requestid for one batch: the same requests in the same round give the same id."""
    digest = hashlib.sha256("\n".join([round_name, *keys]).encode()).hexdigest()
    return f"ps-{digest[:40]}"


class Writer:
    def __init__(self, api: QuickBooksApi, batch_size: int) -> None:
        self.api = api
        self.batch_size = batch_size

    async def upsert(self, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        current = await self.current([r.id for r in requests if r.id is not None])
        items: list[Item] = []
        for index, request in enumerate(requests):
            prepared = prepare(index, request, current)
            if isinstance(prepared, WriteResult):
                results[index] = prepared
            else:
                items.append(prepared)
        failed = await self._round(items, "first", results)
        retry = await self._rebuild(failed, results)
        await self._round(retry, "retry", results, final=True)
        return [results[i] for i in range(len(requests))]

    async def current(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored customers (SyncToken, notes with tags) of the records to update."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), self.batch_size):
            customers, _ = await self.api.query(query.by_ids(unique[start : start + self.batch_size]))
            found.update({str(c["Id"]): c for c in customers})
        return found

    async def _round(self, items: list[Item], name: str, results: dict[int, WriteResult],
                     final: bool = False) -> list[tuple[Item, Fault]]:
        """Send items in batches; store results; return the items worth one more try."""
        again: list[tuple[Item, Fault]] = []
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            answers = await self._send(chunk, name)
            for item in chunk:
                answer = answers.get(str(item.index))
                if isinstance(answer, str):
                    results[item.index] = WriteResult(key=item.request.key, error=answer)
                elif answer is not None and isinstance(answer.get("Customer"), dict):
                    customer = answer["Customer"]
                    record = flat.to_record(customer)
                    results[item.index] = WriteResult(key=item.request.key, id=record.id, record=record)
                else:
                    fault = parse_fault(answer) or Fault(type="missing", status=None)
                    retryable = fault.has(STALE_SYNC_TOKEN) or fault.has(DUPLICATE_NAME)
                    if retryable and not final:
                        again.append((item, fault))
                    else:
                        suffix = " (after one retry)" if final else ""
                        message = fault.describe() if fault.errors else "QuickBooks returned no answer for this item"
                        results[item.index] = WriteResult(key=item.request.key, error=message + suffix)
        return again

    async def _send(self, chunk: list[Item], round_name: str) -> dict[str, Any]:
        """Batch answers by bId; when the whole batch fails, the same message for every item."""
        batch = [{"bId": str(i.index), "operation": i.operation, "Customer": i.customer} for i in chunk]
        rid = request_id([i.request.key for i in chunk], round_name)
        try:
            return await self.api.batch(batch, rid)
        except QuickBooksRevoked:
            raise  # the company's grant, not these records: the engine stops the run and marks the account
        except QuickBooksError as error:
            return {str(i.index): f"batch refused: {error}" for i in chunk}
        except httpx.HTTPError as error:
            return {str(i.index): f"batch not delivered: {type(error).__name__}" for i in chunk}

    async def _rebuild(self, failed: list[tuple[Item, Fault]], results: dict[int, WriteResult]) -> list[Item]:
        """Stale items: read again and merge again. Name clashes: link or disambiguate once."""
        stale = [item for item, fault in failed if fault.has(STALE_SYNC_TOKEN)]
        fresh = await self.current([i.request.id for i in stale if i.request.id is not None])
        retry: list[Item] = []
        for item, fault in failed:
            outcome = prepare(item.index, item.request, fresh) if fault.has(STALE_SYNC_TOKEN) \
                else await self._rename(item, fault)
            if isinstance(outcome, WriteResult):
                results[item.index] = outcome
            else:
                retry.append(outcome)
        return retry

    async def _rename(self, item: Item, fault: Fault) -> Item | WriteResult:
        name = str(item.customer.get("DisplayName") or "")
        email = flat.lookup(item.customer, flat.EMAIL)
        if not email and item.request.id is not None:
            stored = await self.api.read(item.request.id)
            email = flat.lookup(stored, flat.EMAIL) if stored else None
        if item.request.id is None and name and email:
            customers, _ = await self.api.query(query.where_equals("DisplayName", name))
            for customer in customers:
                if match_key(flat.lookup(customer, flat.EMAIL)) == match_key(email):
                    record = flat.to_record(customer)  # the same person: link, do not duplicate
                    return WriteResult(key=item.request.key, id=record.id, record=record)
        if not name or not email or name.endswith(f"({email})"):
            return WriteResult(key=item.request.key, error=f"{fault.describe()} (no email to tell {name!r} apart)")
        return replace(item, customer={**item.customer, "DisplayName": f"{name} ({email})"})


def prepare(index: int, request: WriteRequest, current: dict[str, dict[str, Any]]) -> Item | WriteResult:
    """The batch item for one request, or its result when it cannot or need not be sent."""
    problem = flat.check(request.fields)
    if problem:
        return WriteResult(key=request.key, error=problem)
    if request.id is None:
        customer = flat.to_payload(request.fields)
        if not customer.get("DisplayName"):
            derived = flat.default_display_name(request.fields)
            if derived:
                customer["DisplayName"] = derived
        return Item(index, request, customer)
    stored = current.get(request.id)
    if stored is None:
        return WriteResult(key=request.key, error=f"customer {request.id} does not exist in QuickBooks")
    if not request.fields:
        record = flat.to_record(stored)
        return WriteResult(key=request.key, id=record.id, record=record)
    customer = flat.to_payload(request.fields, stored.get("Notes"))
    customer.update({"Id": request.id, "SyncToken": stored["SyncToken"], "sparse": True})
    return Item(index, request, customer)
