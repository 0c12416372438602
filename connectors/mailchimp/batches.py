"""Large runs through `/batches`: one request for many member writes, polled until Mailchimp is done.

Mailchimp runs a batch later (pending -> preprocessing -> started ->
finalizing -> finished) and leaves the answers in a .tar.gz archive of JSON
files at `response_body_url`. That archive is fetched with a client of its
own that carries no credentials: the URL points at another host (a storage
bucket), and the API key must never travel there. Each operation's answer is
matched back to its write by `operation_id` (the write's journal key).
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import time
from typing import Any

import httpx

from connectors.mailchimp.api import Json, MailchimpError, MarketingApi

Answer = tuple[int, Json]


class BatchNotFinished(Exception):
    """Mailchimp had not finished the batch in time; its writes may still land (they are all replay-safe PATCHes)."""


class Batches:
    def __init__(self, api: MarketingApi, poll_seconds: float, timeout_seconds: float) -> None:
        self.api = api
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    async def run(self, operations: list[Json]) -> dict[str, Answer]:
        """The answer to each operation by `operation_id`: (HTTP status, JSON body)."""
        batch = await self.api.send("POST", "/batches", {"operations": operations})
        deadline = time.monotonic() + self.timeout_seconds
        while batch.get("status") != "finished":
            if time.monotonic() > deadline:
                raise BatchNotFinished(
                    f"Mailchimp batch {batch.get('id')} was still {batch.get('status')!r} after "
                    f"{self.timeout_seconds:.0f} s; its writes are checked again next run"
                )
            await asyncio.sleep(self.poll_seconds)
            batch = await self.api.get(f"/batches/{batch['id']}")
        return read_archive(
            await fetch_archive(str(batch.get("response_body_url") or ""), self.api.settings.timeout_seconds)
        )


async def fetch_archive(url: str, timeout: float) -> bytes:
    """The result archive, from a client without the API's credentials."""
    if not url:
        raise MailchimpError(200, "No Results", "the finished batch has no response_body_url")
    async with httpx.AsyncClient(timeout=timeout) as plain:
        response = await plain.get(url)
    if response.status_code != 200:
        raise MailchimpError(
            response.status_code, "Batch Results Unavailable", f"the archive answered {response.status_code}"
        )
    return response.content


def read_archive(data: bytes) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member) if member.isfile() and member.name.endswith(".json") else None
            if handle is None:
                continue
            for item in json.loads(handle.read()):
                answers[str(item.get("operation_id"))] = (int(item.get("status_code") or 0), _body(item))
    return answers


def _body(item: dict[str, Any]) -> Json:
    raw = item.get("response")
    try:
        body = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
