"""The sandbox's OAuth2 token endpoint: refresh grant, HTTP Basic client auth, rotation.

Like Intuit's, it hands back the same refresh token until that token is about
a day old and a new one after that (`force_rotation` rotates on every call);
the replaced refresh token stops working. Access tokens expire after `access_ttl`.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field

ROTATE_AFTER_SECONDS = 24 * 3600


@dataclass
class TokenService:
    client_id: str
    client_secret: str
    access_ttl: float = 3600.0
    force_rotation: bool = False
    refresh_tokens: dict[str, float] = field(default_factory=dict)  # token -> issued at
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    grants: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_refresh_token(self, issued_at: float | None = None) -> str:
        token = f"RT1-{secrets.token_hex(16)}"
        self.refresh_tokens[token] = time.time() if issued_at is None else issued_at
        return token

    def client_ok(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except ValueError:
            return False
        client_id, _, secret = decoded.partition(":")
        return secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(secret, self.client_secret)

    def refresh(self, refresh_token: str) -> dict[str, object] | None:
        """A token response, or None when the refresh token is unknown or was replaced."""
        with self.lock:
            issued = self.refresh_tokens.get(refresh_token)
            if issued is None:
                return None
            self.grants += 1
            if self.force_rotation or time.time() - issued > ROTATE_AFTER_SECONDS:
                del self.refresh_tokens[refresh_token]
                refresh_token = self.issue_refresh_token()
            access = f"AT-{secrets.token_hex(16)}"
            self.access_tokens[access] = time.time() + self.access_ttl
            return {
                "token_type": "bearer",
                "access_token": access,
                "expires_in": int(self.access_ttl),
                "refresh_token": refresh_token,
                "x_refresh_token_expires_in": 8726400,
            }

    def access_ok(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        expires = self.access_tokens.get(authorization[7:])
        return expires is not None and expires > time.time()

    def expire_access_tokens(self) -> None:
        """Make every issued access token stale (tests of the refresh-on-401 path)."""
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0
