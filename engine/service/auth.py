"""Bearer-token check for the API. Webhooks carry their own signatures and `/healthz` stays open for probes."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.responses import JSONResponse

OPEN_PREFIXES = ("/webhooks/", "/healthz")


class BearerAuth:
    """ASGI middleware: without a token configured every request passes (the service then listens on loopback)."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.expected is None or scope["path"].startswith(OPEN_PREFIXES):
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
