"""The HTTP API: connections, runs, records, health, metrics and webhook endpoints (starlette routes)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from engine.cli.status import connection_status
from engine.service import history
from engine.service.app import Refused, Service
from engine.service.metrics import CONTENT_TYPE

MAX_LIMIT = 500
log = logging.getLogger("pairsync.service")


class BadRequest(Exception):
    """A query parameter the API cannot use; answered with 400 and the reason."""


def reply(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=_plain, sort_keys=True), status, media_type="application/json")


def problem(message: str, status: int) -> Response:
    return reply({"error": message}, status)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _int(request: Request, name: str, default: int, low: int = 0, high: int = MAX_LIMIT) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _synced(request: Request) -> bool | None:
    raw = request.query_params.get("synced")
    choices = {"yes": True, "no": False, None: None}
    if raw not in choices:
        raise BadRequest(f"synced must be yes or no, not {raw!r}")
    return choices[raw]


def routes(service: Service) -> list[Route]:
    """Every endpoint, bound to one service."""

    def known(name: str) -> bool:
        return any(c.name == name for c in service.loaded.config.connections)

    def connection_view(name: str) -> dict[str, Any]:
        connection = service.loaded.config.connection(name)
        held = name in history.held(service.store)
        runs = service.store.runs(name, limit=1)
        return {
            "name": name,
            "left": connection.left,
            "right": connection.right,
            "enabled": connection.enabled and not held,
            "enabled_in_config": connection.enabled,
            "disabled_by_api": held,
            "schedule": connection.schedule,
            "next_run": service.schedules.next_run(name),
            "schedule_problem": service.schedules.problems.get(name),
            "running_here": service.runs.running(name),
            "last_run": _run_row(runs[0]) if runs else None,
            "accounts": [account_view(a) for a in (connection.left, connection.right)],
        }

    def account_view(account: str) -> dict[str, object]:
        return service.store.account_health(account).to_json(str(service.loaded.path))

    async def list_accounts(_request: Request) -> Response:
        return reply({"accounts": [account_view(a) for a in sorted(service.loaded.config.accounts)]})

    async def healthz(_request: Request) -> Response:
        stopping = service.runs.stopping
        problems = service.problems()
        status = "stopping" if stopping else "degraded" if problems else "ok"
        body = {"status": status, "scheduler": service.scheduler.running, "problems": problems}
        return reply(body, 503 if stopping else 200)

    async def metrics(_request: Request) -> Response:
        return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)

    async def list_connections(_request: Request) -> Response:
        return reply({"connections": [connection_view(c.name) for c in service.loaded.config.connections]})

    async def show_connection(request: Request) -> Response:
        name = request.path_params["name"]
        if not known(name):
            return problem(f"no connection named {name!r}", 404)
        return reply({**connection_view(name), "status": connection_status(service.store, name)})

    async def run_now(request: Request) -> Response:
        name = request.path_params["name"]
        if not known(name):
            return problem(f"no connection named {name!r}", 404)
        if not any(c.name == name for c in service.active()):
            return problem(f"{name} is disabled; enable it first", 409)
        if service.runs.running(name):
            return problem(f"{name} is already running", 409)
        if request.query_params.get("wait") in {"1", "true", "yes"}:
            report = await service.runs.run(name, "api")
            if report is None:
                return problem("the service is stopping", 503)
            return reply(report.summary(), 409 if report.status == "busy" else 200)
        service.spawn_run(name, "api")
        return reply({"connection": name, "status": "started"}, 202)

    async def switch(request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in {"enable", "disable"}:
            return problem(f"unknown action {action!r}: enable or disable", 404)
        if not known(name):
            return problem(f"no connection named {name!r}", 404)
        try:
            service.set_enabled(name, action == "enable")
        except Refused as refused:
            return problem(str(refused), 409)
        return reply(connection_view(name))

    async def list_runs(request: Request) -> Response:
        connection = request.query_params.get("connection")
        runs = service.store.runs(connection, limit=_int(request, "limit", 20, low=1))
        return reply({"runs": [_run_row(r) for r in runs]})

    async def show_run(request: Request) -> Response:
        run = service.store.run(request.path_params["run_id"])
        if run is None:
            return problem("no such run", 404)
        events = service.store.events(run["id"])
        rows = [_event_row(e) for e in events]
        return reply({**_run_row(run), "events": rows, "errors": [e for e in rows if e["kind"] == "failed"]})

    async def list_records(request: Request) -> Response:
        name = request.query_params.get("connection")
        if not name:
            return problem("connection is required: /records?connection=NAME", 400)
        if not known(name):
            return problem(f"no connection named {name!r}", 404)
        limit, offset = _int(request, "limit", 100, low=1), _int(request, "offset", 0, high=10**9)
        rows = history.records(service.store, name, _synced(request), limit, offset)
        return reply({"connection": name, "records": rows})

    async def webhook(request: Request) -> Response:
        settings = service.settings
        try:
            body = await _bounded_body(request, settings.max_webhook_bytes, settings.body_timeout)
        except UploadCut as cut:
            log.warning("webhook %s: %s", request.url.path, cut)
            return problem(str(cut), cut.status)
        if body is None:
            return problem("webhook body too large", 413)
        account, token = request.path_params["account"], request.path_params.get("token")
        delivery = service.webhooks.receive(service.loaded, account, request.headers, body, token)
        return reply(delivery.body, delivery.status)

    async def webhook_check(request: Request) -> Response:
        delivery = service.webhooks.check(service.loaded, request.path_params["account"], request.path_params["token"])
        return reply(delivery.body, delivery.status)

    return [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/connections", list_connections),
        Route("/connections/{name}", show_connection),
        Route("/connections/{name}/run", run_now, methods=["POST"]),
        Route("/connections/{name}/{action:str}", switch, methods=["POST"]),
        Route("/accounts", list_accounts),
        Route("/runs", list_runs),
        Route("/runs/{run_id:int}", show_run),
        Route("/records", list_records),
        Route("/webhooks/{account}", webhook, methods=["POST"]),
        Route("/webhooks/{account}/{token}", webhook, methods=["POST"]),
        Route("/webhooks/{account}/{token}", webhook_check, methods=["GET"]),
    ]


class UploadCut(Exception):
    """A request body that never arrived whole: the client hung up, or stalled past the read timeout."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _bounded_body(request: Request, limit: int, timeout: float) -> bytes | None:
    """The body, or None when it exceeds `limit`; UploadCut (one log line, no traceback) when it never
    arrives whole within `timeout` seconds."""
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
    except ClientDisconnect:
        raise UploadCut(400, f"the client hung up after {size} bytes of its body") from None
    except TimeoutError:
        raise UploadCut(408, f"the body did not arrive within {timeout:g} s ({size} bytes came)") from None
    return b"".join(chunks)


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("id", "connection", "trigger", "status", "started_at", "finished_at", "summary")}


def _event_row(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in ("side", "record_id", "kind", "detail", "at")}
