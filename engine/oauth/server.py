"""An OAuth 2.0 authorization server for sandboxes: the consent page and the code exchange.

Each sandbox mounts it in front of its own routes at its app's real paths. The
consent page approves at once (a 302 to the loopback `redirect_uri` with `code`
and `state`, plus what the app adds, e.g. QuickBooks' `realmId`); `deny = True`
makes it answer `error=access_denied` as when the user clicks Cancel. The token
endpoint takes `grant_type=authorization_code` with the PKCE verifier; every
other token request passes through to the sandbox's own endpoint (refresh grants).
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class Pending:
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class AuthorizationServer:
    """One OAuth client's consent and code exchange; `issue_refresh_token` mints what the API will accept."""

    client_id: str
    client_secret: str
    authorize_path: str
    token_path: str
    issue_refresh_token: Callable[[], str]
    client_auth: str = "post"  # "basic": HTTP Basic (Intuit); "post": in the form (Google)
    redirect_extra: Mapping[str, str] = field(default_factory=dict)
    deny: bool = False  # knob: the user refuses consent
    codes: dict[str, Pending] = field(default_factory=dict)
    exchanged: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def consent(self, query: Mapping[str, str]) -> Response:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return PlainTextResponse("Error 401: invalid_client. The OAuth client was not found.", 401)
        if urlsplit(redirect_uri).scheme != "http" or urlsplit(redirect_uri).hostname not in LOOPBACK_HOSTS:
            return PlainTextResponse("Error 400: redirect_uri_mismatch (a loopback http address is expected).", 400)
        if query.get("response_type") != "code":
            return _back(redirect_uri, {"error": "unsupported_response_type", "state": query.get("state")})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return _back(redirect_uri, {"error": "invalid_request", "error_description": "PKCE S256 is required",
                                        "state": query.get("state")})
        if self.deny:
            return _back(redirect_uri, {"error": "access_denied", "state": query.get("state")})
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = Pending(redirect_uri, query["code_challenge"], query.get("scope", ""))
        return _back(redirect_uri, {"code": code, "state": query.get("state"), **self.redirect_extra})

    def exchange(self, form: Mapping[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        if not self._client_ok(form, authorization):
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        with self.lock:
            pending = self.codes.pop(form.get("code", ""), None)  # a code works once
        if pending is None or pending.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        if create_s256_code_challenge(form.get("code_verifier", "")) != pending.challenge:
            return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
        self.exchanged += 1
        return 200, {
            "access_token": "sandbox-at-" + secrets.token_urlsafe(16),
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": pending.scope,
            "refresh_token": self.issue_refresh_token(),
        }

    def _client_ok(self, form: Mapping[str, str], authorization: str | None) -> bool:
        if self.client_auth == "basic":
            if not authorization or not authorization.startswith("Basic "):
                return False
            client_id, _, secret = base64.b64decode(authorization[6:]).decode(errors="replace").partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(secret, self.client_secret)


def _back(redirect_uri: str, params: Mapping[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}", status_code=302)


class AuthorizationMiddleware:
    """ASGI: the consent page and code exchanges here, everything else to the sandbox's own app."""

    def __init__(self, app: Any, server: AuthorizationServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.server.authorize_path and scope["method"] == "GET":
            query = dict(parse_qsl(scope.get("query_string", b"").decode()))
            await self.server.consent(query)(scope, receive, send)
            return
        if scope["path"] == self.server.token_path and scope["method"] == "POST":
            body = await _body(receive)
            form = dict(parse_qsl(body.decode(errors="replace")))
            if form.get("grant_type") == "authorization_code":
                headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
                status, answer = self.server.exchange(form, headers.get("authorization"))
                await JSONResponse(answer, status, headers={"Cache-Control": "no-store"})(scope, receive, send)
                return
            receive = _replay(body)
        await self.app(scope, receive, send)


async def _body(receive: Any) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        chunks.extend(message.get("body", b""))
        if not message.get("more_body", False):
            return bytes(chunks)


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
