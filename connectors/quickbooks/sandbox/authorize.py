"""Intuit's OAuth consent endpoint (`/connect/oauth2`) and the code exchange at the bearer-token path.

Approves at once with `code`, `state` and the company's `realmId`, as Intuit does once
the user picks a company; `sandbox.authorization.deny = True` answers `error=access_denied`.
Client authentication is HTTP Basic, as at Intuit.
"""

from __future__ import annotations

from connectors.quickbooks.sandbox.tokens import TokenService
from engine.oauth.server import AuthorizationServer

AUTHORIZE_PATH = "/connect/oauth2"  # as at appcenter.intuit.com
TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def authorization_server(tokens: TokenService, realm_id: str) -> AuthorizationServer:
    return AuthorizationServer(
        tokens.client_id,
        tokens.client_secret,
        AUTHORIZE_PATH,
        TOKEN_PATH,
        lambda: tokens.issue_refresh_token(),
        client_auth="basic",
        redirect_extra={"realmId": realm_id},
    )
