"""The sandbox's ASGI app: key checks, the ten-connection limit, routing, batches and a request log.

Mailchimp counts simultaneous connections per key and answers 429 beyond
ten; the sandbox counts requests in flight the same way. `hold` (a
threading.Event) keeps requests in flight until it is set, so a test can
fill every connection on purpose instead of hoping requests overlap.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.mailchimp.sandbox.batches import Batches, batch_json, create_batch
from connectors.mailchimp.sandbox.delivery import Hooks
from connectors.mailchimp.sandbox.errors import ApiError
from connectors.mailchimp.sandbox.routes import Call, match
from connectors.mailchimp.sandbox.store import Store

API_ROOT = "/3.0"


@dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    auth: str


@dataclass
class State:
    store: Store
    hooks: Hooks
    api_key: str
    batches: Batches = field(default_factory=Batches)
    max_connections: int = 10
    in_flight: int = 0
    max_in_flight: int = 0
    too_many: int = 0
    hold: threading.Event | None = None
    log: list[Exchange] = field(default_factory=list)
    archive_fetches: list[str | None] = field(default_factory=list)  # the Authorization header of each

    def authorised(self, header: str | None) -> str | None:
        """`basic` or `bearer` when the header carries this sandbox's key, else None."""
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                _user, _, key = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return "basic" if key == self.api_key else None
        if scheme.lower() in ("bearer", "oauth"):
            return "bearer" if value.strip() == self.api_key else None
        return None


def build_app(state: State) -> Starlette:
    async def api(request: Request) -> Response:
        if state.in_flight >= state.max_connections:
            state.too_many += 1
            return ApiError(429).response()
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            while state.hold is not None and not state.hold.is_set():
                await asyncio.sleep(0.002)
            return await _answer(state, request)
        finally:
            state.in_flight -= 1

    async def results(request: Request) -> Response:
        state.archive_fetches.append(request.headers.get("authorization"))
        try:
            data = state.batches.archive(request.path_params["batch_id"])
        except ApiError as error:
            return error.response()
        return Response(data, media_type="application/x-gzip")

    return Starlette(routes=[
        Route(API_ROOT + "/{rest:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/batch-results/{batch_id}.tar.gz", results),
    ])


async def _answer(state: State, request: Request) -> Response:
    path = request.url.path[len(API_ROOT):]
    query = dict(parse_qsl(request.url.query, keep_blank_values=True))
    raw = await request.body()
    body: Any = None
    auth = state.authorised(request.headers.get("authorization"))
    try:
        if auth is None:
            raise ApiError(401)
        body = json.loads(raw) if raw else None
        call = Call(state.store, state.hooks, {}, query, body, check_url)
        status, answer = await _dispatch(state, request, path, call)
    except ApiError as error:
        state.log.append(Exchange(request.method, path, query, body, error.status, auth or ""))
        return error.response()
    except ValueError:
        state.log.append(Exchange(request.method, path, query, None, 400, auth or ""))
        return ApiError(400, "We encountered an unspecified JSON parsing error.", title="JSON Parse Error").response()
    state.log.append(Exchange(request.method, path, query, body, status, auth))
    if answer is None:
        return Response(status_code=status)
    return JSONResponse(answer, status_code=status)


async def _dispatch(state: State, request: Request, path: str, call: Call) -> tuple[int, Any]:
    base = str(request.base_url).rstrip("/")
    if path == "/batches" and request.method == "POST":
        batch_id = f"{len(state.batches.batches) + 1:010x}"
        return await create_batch(call, state.batches, f"{base}/batch-results/{batch_id}.tar.gz")
    if path.startswith("/batches/") and request.method == "GET":
        batch = state.batches.batches.get(path.removeprefix("/batches/"))
        if batch is None:
            raise ApiError(404)
        await state.batches.advance(batch, call)
        return 200, batch_json(batch, f"{base}/batch-results/{batch.id}.tar.gz")
    handler, params = match(request.method, path)
    call.path = params
    return await handler(call)


async def check_url(url: str) -> bool:
    """Mailchimp's check of a new webhook URL: a GET that must answer 200."""
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(url, headers={"User-Agent": "MailChimp.com WebHook Validator"})).status_code == 200
    except httpx.HTTPError:
        return False
