"""The OpenID discovery document Intuit publishes, naming this sandbox's endpoints.

Intuit's OAuth client for Python (`intuitlib`, used by python-quickbooks) reads
its endpoints from this document, and accepts the document's URL in place of an
environment name, so a client pointed at the sandbox needs no patching. Of the
endpoints named, the sandbox serves the token endpoint; the others answer
QuickBooks' "Unsupported Operation" fault until they are implemented.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

DISCOVERY_PATH = "/.well-known/openid_sandbox_configuration"


async def discovery_document(request: Request) -> Response:
    base = str(request.base_url).rstrip("/")
    return JSONResponse({
        "issuer": f"{base}/op/v1",
        "authorization_endpoint": f"{base}/connect/oauth2",
        "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
        "jwks_uri": f"{base}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone", "com.intuit.quickbooks.accounting"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    })
