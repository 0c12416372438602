"""OAuth for native apps (RFC 8252): `pairsync connect` and the sandboxes' authorization endpoints.

`flow` runs the authorization-code grant with PKCE (RFC 7636) through a loopback
redirect (`loopback`); `server` is the authorization server the sandboxes mount at
their app's real paths, so the whole flow is tested over loopback.
"""

from engine.oauth.flow import ConnectError, Grant, authorize

__all__ = ["ConnectError", "Grant", "authorize"]
