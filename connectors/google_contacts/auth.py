"""OAuth2 for the People API: a refresh-token grant wrapped as an `httpx.Auth` flow.

Access tokens are refreshed shortly before they expire and once more when
the API answers 401 anyway (revoked, clock skew). Google may hand back a new
refresh token; it is saved through the connector context at once, because
the old one can stop working. No token ever reaches a log line, an error
message or a repr.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

import httpx

from engine.connector import AuthenticationFailed, ConnectorContext

REFRESH_TOKEN_KEY = "refresh_token"
MAX_SKEW_SECONDS = 60.0


class AuthError(Exception):
    """The token endpoint refused the refresh; the message carries Google's error code only."""


class RevokedError(AuthError, AuthenticationFailed):
    """A final refusal (`invalid_grant`: revoked or expired): the account must reconnect."""


FINAL_REFUSALS = frozenset({"invalid_grant"})  # a wrong client secret is a config fix, not a reconnect


class RefreshTokenAuth(httpx.Auth):
    """Bearer auth whose token comes from a refresh-token grant."""

    def __init__(
        self,
        token_client: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        context: ConnectorContext,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = token_client
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = context.load_credential(REFRESH_TOKEN_KEY) or refresh_token
        self._context = context
        self._clock = clock
        self._access_token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.refreshes = 0
        self.granted_scopes: frozenset[str] | None = None  # as the token endpoint reported them

    def __repr__(self) -> str:
        return f"RefreshTokenAuth(client_id={self._client_id!r}, token_url={self._token_url!r})"

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._token(stale=None)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self._token(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def _token(self, stale: str | None) -> str:
        """A usable access token; `stale` is one the API just refused."""
        async with self._lock:
            fresh = self._access_token is not None and self._clock() < self._refresh_at
            if not fresh or self._access_token == stale:
                await self._refresh()
            assert self._access_token is not None
            return self._access_token

    async def _refresh(self) -> None:
        if not self._refresh_token:
            raise RevokedError("Google account not connected yet: no refresh token in the config or the state")
        response = await self._client.post(
            self._token_url,
            data={
                "grant_type": "refresh_token",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "refresh_token": self._refresh_token,
            },
        )
        payload = _json(response)
        if response.status_code != 200 or not isinstance(payload.get("access_token"), str):
            code = payload.get("error", "no access token in the answer")
            refused = RevokedError if code in FINAL_REFUSALS else AuthError
            raise refused(f"Google token refresh failed: HTTP {response.status_code} {code}")
        self.refreshes += 1
        scope = payload.get("scope")
        self.granted_scopes = frozenset(scope.split()) if isinstance(scope, str) else None
        self._access_token = str(payload["access_token"])
        expires_in = payload.get("expires_in", 3600)
        lifetime = float(expires_in) if isinstance(expires_in, int | float | str) else 3600.0
        self._refresh_at = self._clock() + lifetime - min(MAX_SKEW_SECONDS, lifetime / 2)
        rotated = payload.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            self._context.save_credential(REFRESH_TOKEN_KEY, rotated)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
