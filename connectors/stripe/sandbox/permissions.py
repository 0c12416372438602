"""A restricted key's permissions, and a Stripe-compatible server without some APIs.

Stripe answers a restricted key (`rk_...`) that lacks a permission with HTTP 403 and
an `invalid_request_error` naming the permission that would allow the request;
a server that does not implement an API at all answers 404. This wrapper sits in
front of the sandbox's routes and answers both, so tests drive the connector's
fallbacks over the wire: `sandbox.permissions.deny("event", "read")` or
`sandbox.permissions.missing_apis.add("/v1/events")`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

# Path prefix -> the restricted-key resource that guards it (as Stripe names them: rak_<resource>_<level>).
RESOURCES = {
    "/v1/customers": "customer",
    "/v1/subscriptions": "subscription",
    "/v1/products": "product",
    "/v1/prices": "plan",
    "/v1/events": "event",
}


@dataclass
class Permissions:
    """What the configured key may do; everything is allowed until a test denies it."""

    denied: set[tuple[str, str]] = field(default_factory=set)  # (resource, "read" | "write")
    missing_apis: set[str] = field(default_factory=set)  # path prefixes answered with 404

    def deny(self, resource: str, level: str = "read") -> None:
        """Take a permission away; taking `read` also takes `write`, as in Stripe's dashboard."""
        self.denied.add((resource, level))
        if level == "read":
            self.denied.add((resource, "write"))

    def refusal(self, method: str, path: str) -> ApiError | None:
        for prefix in self.missing_apis:
            if path == prefix or path.startswith(prefix + "/"):
                return ApiError(404, f"Unrecognized request URL ({method}: {path}).")
        resource = next((r for p, r in RESOURCES.items() if path == p or path.startswith(p + "/")), None)
        if resource is None:
            return None
        level = "read" if method == "GET" else "write"
        if (resource, level) not in self.denied:
            return None
        message = (
            "The provided key 'rk_test_****' does not have the required permissions for this endpoint on "
            f"account 'acct_sandbox'. Having the 'rak_{resource}_{level}' permission would allow this request "
            "to continue."
        )
        return ApiError(403, message)


class PermissionsMiddleware:
    """ASGI: refuse what the key may not do before the sandbox's routes see the request."""

    def __init__(self, app: Any, permissions: Permissions) -> None:
        self.app = app
        self.permissions = permissions

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["headers"] and _has_auth(scope):
            refusal = self.permissions.refusal(scope["method"], scope["path"])
            if refusal is not None:
                await refusal.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _has_auth(scope: Any) -> bool:
    """Unauthenticated requests get the routes' own 401 first, as at Stripe."""
    return any(name == b"authorization" for name, _ in scope["headers"])
