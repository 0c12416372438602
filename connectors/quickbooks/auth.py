"""OAuth2 for QuickBooks: refresh before expiry and on 401, persist every rotated refresh token.

A small `httpx.Auth` flow rather than Authlib's httpx client: Authlib's httpx
integration now warns that plain httpx support is deprecated, and the flow
needed here (one grant, one retry on 401, a save callback) is a few lines.
Tokens live only in this module's private attributes; nothing here logs them
or puts them into an exception message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import httpx

from connectors.quickbooks.errors import QuickBooksAuthError, QuickBooksRevoked
from connectors.quickbooks.settings import QuickBooksSettings
from engine.connector import ConnectorContext

REFRESH_TOKEN_KEY = "refresh_token"
LEEWAY_SECONDS = 300.0
FINAL_REFUSALS = frozenset({"invalid_grant"})  # a wrong client secret is a config fix, not a reconnect


class TokenManager:
    """Holds the current access and refresh tokens; one refresh at a time."""

    def __init__(self, settings: QuickBooksSettings, context: ConnectorContext, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._context = context
        self._client = client
        saved = context.load_credential(REFRESH_TOKEN_KEY)
        configured = settings.refresh_token.get_secret_value() if settings.refresh_token else ""
        self._refresh_token = saved or configured
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"TokenManager(realm_id={self._settings.realm_id!r}, refreshes={self.refreshes})"

    async def access_token(self) -> str:
        """A token valid for at least LEEWAY_SECONDS more, refreshed first when needed."""
        async with self._lock:
            if self._access_token is None or time.monotonic() >= self._expires_at - LEEWAY_SECONDS:
                await self._refresh()
            assert self._access_token is not None
            return self._access_token

    async def renew(self, rejected: str) -> str:
        """After a 401: refresh unless another request already replaced the rejected token."""
        async with self._lock:
            if self._access_token == rejected or self._access_token is None:
                await self._refresh()
            assert self._access_token is not None
            return self._access_token

    async def _refresh(self) -> None:
        """One refresh grant, serialised with every process sharing this account's state.

        Another process may have rotated the refresh token since this one read it: the stored token is
        read again first, and on `invalid_grant` once more (a process that does not share the lock may
        have rotated it meanwhile) before the connection is declared broken.
        """
        async with self._context.exclusive(REFRESH_TOKEN_KEY):
            self._adopt_stored()
            if not self._refresh_token:
                raise QuickBooksRevoked(
                    "QuickBooks company not connected yet: no refresh token in the config or the state"
                )
            tried = self._refresh_token
            response = await self._grant()
            body = _json(response)
            if body.get("error") == "invalid_grant" and self._adopt_stored() and self._refresh_token != tried:
                response = await self._grant()
                body = _json(response)
            if response.status_code != 200 or not isinstance(body.get("access_token"), str):
                reason = body.get("error") or f"HTTP {response.status_code}"
                final = reason in FINAL_REFUSALS  # refused even after re-reading the stored token: revoked
                raise (QuickBooksRevoked if final else QuickBooksAuthError)(
                    f"QuickBooks token refresh failed ({reason}): reconnect the company or check "
                    "client_id/client_secret",
                    status=response.status_code,
                )
            self._accept(body)

    def _adopt_stored(self) -> bool:
        """Use the refresh token saved by the latest refresh of any process; True when one is saved."""
        stored = self._context.load_credential(REFRESH_TOKEN_KEY)
        if stored:
            self._refresh_token = stored
        return bool(stored)

    async def _grant(self) -> httpx.Response:
        secret = self._settings.client_secret.get_secret_value()
        return await self._client.post(
            self._settings.token_url,
            data={"grant_type": "refresh_token", "refresh_token": self._refresh_token},
            auth=httpx.BasicAuth(self._settings.client_id, secret),
            headers={"Accept": "application/json"},
        )

    def _accept(self, body: dict[str, object]) -> None:
        self.refreshes += 1
        access = body["access_token"]
        expires_in = body.get("expires_in")
        self._access_token = access if isinstance(access, str) else None
        self._expires_at = time.monotonic() + (float(expires_in) if isinstance(expires_in, (int, float)) else 3600.0)
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            self._context.save_credential(REFRESH_TOKEN_KEY, rotated)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class BearerAuth(httpx.Auth):
    """Adds the bearer token; on 401 renews it once and resends."""

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self.tokens.renew(token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
