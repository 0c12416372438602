"""Google's OAuth consent endpoint (`/o/oauth2/v2/auth`) and the code exchange at `/token`.

Approves at once with `code` and `state`; `sandbox.authorization.deny = True` answers
`error=access_denied`. The refresh token it grants becomes the one the token
endpoint accepts (the sandbox keeps one user and the newest grant).
"""

from __future__ import annotations

import secrets

from connectors.google_contacts.sandbox.app import TOKEN_PATH, OAuth
from engine.oauth.server import AuthorizationServer

AUTHORIZE_PATH = "/o/oauth2/v2/auth"  # as at accounts.google.com


def authorization_server(oauth: OAuth) -> AuthorizationServer:
    def issue() -> str:
        oauth.refresh_token = "1//" + secrets.token_urlsafe(24)
        return oauth.refresh_token

    return AuthorizationServer(oauth.client_id, oauth.client_secret, AUTHORIZE_PATH, TOKEN_PATH, issue)
