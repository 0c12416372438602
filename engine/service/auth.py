"""Bearer-token check for the API. Webhooks carry their own signatures, `/healthz` stays open for probes, and the
dashboard's paths (engine.web) check their own session cookie."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.responses import JSONResponse

from engine.web.session import is_web

OPEN_PREFIXES = ("/webhooks/", "/healthz")


class BearerAuth:
    """ASGI middleware: without a token configured every request passes (the service then listens on loopback)."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or self.expected is None or path.startswith(OPEN_PREFIXES) or is_web(path):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"error": "this API needs `Authorization: Bearer <PAIRSYNC_API_TOKEN>`"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)
