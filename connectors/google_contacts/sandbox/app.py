"""The sandbox's ASGI app: OAuth token endpoint, bearer-token checks, routing and a request log.

Every API exchange is recorded (method, route, query, request body, status,
response body) so the tests can check both sides against the People API
discovery document. Mutations are counted while in flight, to show that a
client sends them one at a time as Google asks.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from connectors.google_contacts.sandbox import group_routes, people_routes
from connectors.google_contacts.sandbox.errors import ApiError
from connectors.google_contacts.sandbox.routing import Call, Route, match
from connectors.google_contacts.sandbox.store import Store
from connectors.google_contacts.sandbox.tokens import Tokens

ROUTES: list[Route] = [*people_routes.ROUTES, *group_routes.ROUTES]
TOKEN_PATH = "/token"
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential."
)


@dataclass
class Exchange:
    """One recorded API call."""

    method: str
    route: str | None
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    response: Any


@dataclass
class OAuth:
    """The one OAuth client and user this sandbox knows, and the access tokens it issued."""

    client_id: str
    client_secret: str
    refresh_token: str
    token_lifetime: float = 3600.0
    rotate_refresh_tokens: bool = False
    access_tokens: dict[str, float] = field(default_factory=dict)
    grants: int = 0

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        if form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        self.grants += 1
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[token] = time.monotonic() + self.token_lifetime
        answer: dict[str, Any] = {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer",
                                  "scope": "https://www.googleapis.com/auth/contacts"}
        if self.rotate_refresh_tokens:
            self.refresh_token = "1//" + secrets.token_urlsafe(24)
            answer["refresh_token"] = self.refresh_token
        return 200, answer

    def valid(self, header: str | None) -> bool:
        token = (header or "").removeprefix("Bearer ").strip()
        expires = self.access_tokens.get(token)
        return expires is not None and time.monotonic() < expires

    def revoke_access_tokens(self) -> None:
        """Make every issued access token invalid (they stay listed, for tests that look for leaks)."""
        self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)


@dataclass
class State:
    store: Store
    tokens: Tokens
    oauth: OAuth
    log: list[Exchange] = field(default_factory=list)
    mutation_delay: float = 0.0
    in_flight_mutations: int = 0
    max_in_flight_mutations: int = 0
    unauthorized: int = 0
    before_next_mutation: list[Callable[[], None]] = field(default_factory=list)


def build_app(state: State) -> Starlette:
    async def token(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        status, answer = state.oauth.grant(form)
        return JSONResponse(answer, status_code=status, headers={"Cache-Control": "no-store"})

    async def api(request: Request) -> Response:
        query = parse_qs(request.url.query, keep_blank_values=True)
        raw = await request.body()
        body: Any = None
        route: Route | None = None
        try:
            body = json.loads(raw) if raw else None
            route, path_params = match(ROUTES, request.method, request.url.path)
            if not state.oauth.valid(request.headers.get("authorization")):
                state.unauthorized += 1
                raise ApiError(401, UNAUTHENTICATED, reason="ACCESS_TOKEN_EXPIRED")
            call = Call(state.store, state.tokens, query, body, path_params)
            answer = await _run(state, route, call)
            status = 200
        except ApiError as error:
            answer, status = error.envelope(), error.code
        except ValueError:
            answer, status = {"error": {"code": 400, "message": "Invalid JSON payload received.",
                                        "status": "INVALID_ARGUMENT"}}, 400
        state.log.append(Exchange(request.method, route.flat_path if route else None, request.url.path, query,
                                  body, status, answer))
        return JSONResponse(answer, status_code=status)

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[StarletteRoute(TOKEN_PATH, token, methods=["POST"]),
                             StarletteRoute("/{rest:path}", api, methods=methods)])


async def _run(state: State, route: Route, call: Call) -> dict[str, Any]:
    if not route.mutation:
        return await route.handler(call)
    while state.before_next_mutation:
        state.before_next_mutation.pop(0)()
    state.in_flight_mutations += 1
    state.max_in_flight_mutations = max(state.max_in_flight_mutations, state.in_flight_mutations)
    try:
        if state.mutation_delay:
            await asyncio.sleep(state.mutation_delay)
        return await route.handler(call)
    finally:
        state.in_flight_mutations -= 1
