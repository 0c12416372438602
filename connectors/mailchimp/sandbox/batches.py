"""`/batches`: operations run later, a status that moves on each poll, results in a .tar.gz archive.

The state machine is Mailchimp's: pending -> preprocessing -> started ->
finalizing -> finished; here each GET of the batch moves it one step (so a
client must poll, as against the real API), and the operations run when it
reaches `started`. The archive holds one JSON file: a list of
`{status_code, operation_id, response}` with the response as a JSON string.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from connectors.mailchimp.sandbox.errors import ApiError, invalid_field
from connectors.mailchimp.sandbox.render import links
from connectors.mailchimp.sandbox.routes import Call, Result, match
from connectors.mailchimp.sandbox.store import now

Json = dict[str, Any]
STEPS = ("pending", "preprocessing", "started", "finalizing", "finished")


@dataclass
class Batch:
    id: str
    operations: list[Json]
    submitted_at: str = field(default_factory=now)
    step: int = 0
    results: list[Json] = field(default_factory=list)
    completed_at: str = ""

    @property
    def status(self) -> str:
        return STEPS[self.step]


@dataclass
class Batches:
    batches: dict[str, Batch] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def create(self, call: Call) -> Batch:
        operations = call.json().get("operations")
        if not isinstance(operations, list) or not operations:
            raise invalid_field("operations", "Schema describes array, NULL found instead")
        for index, op in enumerate(operations):
            if not isinstance(op, dict) or op.get("method") not in ("GET", "POST", "PUT", "PATCH", "DELETE") \
                    or not isinstance(op.get("path"), str):
                raise invalid_field(f"operations.{index}", "each operation needs a method and a path")
        batch = Batch(f"{next(self._ids):010x}", operations)
        self.batches[batch.id] = batch
        return batch

    async def advance(self, batch: Batch, call: Call) -> None:
        if batch.status == "finished":
            return
        batch.step += 1
        if batch.status == "started":
            batch.results = [await _run(op, call) for op in batch.operations]
        if batch.status == "finished":
            batch.completed_at = now()

    def archive(self, batch_id: str) -> bytes:
        batch = self.batches.get(batch_id)
        if batch is None or batch.status != "finished":
            raise ApiError(404)
        payload = json.dumps(batch.results).encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            info = tarfile.TarInfo(f"{batch.id}/{batch.id}.json")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
        return buffer.getvalue()


def batch_json(batch: Batch, results_url: str) -> Json:
    errored = sum(1 for r in batch.results if r["status_code"] >= 400)
    finished = batch.status == "finished"
    return {
        "id": batch.id, "status": batch.status, "total_operations": len(batch.operations),
        "finished_operations": len(batch.results), "errored_operations": errored,
        "submitted_at": batch.submitted_at, "completed_at": batch.completed_at,
        "response_body_url": results_url if finished else "", "_links": links(f"/batches/{batch.id}"),
    }


async def _run(op: Json, call: Call) -> Json:
    split = urlsplit("/" + op["path"].lstrip("/"))
    path = re.sub(r"^/3\.0", "", split.path)
    query = dict(parse_qsl(split.query))
    query.update({str(k): str(v) for k, v in (op.get("params") or {}).items()})
    try:
        body = json.loads(op["body"]) if op.get("body") else None
        handler, params = match(op["method"], path)
        status, answer = await handler(Call(call.store, call.hooks, params, query, body, call.check_url))
    except ApiError as error:
        status, answer = error.status, error.body()
    except ValueError:
        status, answer = 400, ApiError(400, "We encountered an unspecified JSON parsing error.",
                                       title="JSON Parse Error").body()
    return {"status_code": status, "operation_id": op.get("operation_id"),
            "response": json.dumps(answer) if answer is not None else ""}


async def create_batch(call: Call, batches: Batches, results_url: str) -> Result:
    batch = batches.create(call)
    return 200, batch_json(batch, results_url)
