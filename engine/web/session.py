"""Dashboard sessions and CSRF protection.

Without an API token (the service then listens on loopback) every visitor gets
a session at once. With one, the login form exchanges the token for a session
cookie: HttpOnly, SameSite=Strict, Secure when served over TLS. Every POST
needs the session's CSRF token, as a form field (forms work without
JavaScript) or the `X-CSRF-Token` header (htmx sends it).
A cookie is `<id>.<expiry>.<authenticated>.<mac>`, signed with a key derived
from the API token, so every service process sharing that token accepts it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

COOKIE = "pairsync_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LIFETIME = 12 * 3600
OPEN_PATHS = ("/static/", "/login")
WEB_PREFIXES = ("/ui/", "/static/", "/login", "/logout")


def is_web(path: str) -> bool:
    """Whether a path belongs to the dashboard (the JSON API keeps every other path)."""
    return path == "/" or path.startswith(WEB_PREFIXES)


@dataclass(frozen=True)
class Session:
    id: str
    expires: int
    authenticated: bool


class Sessions:
    """Issues and checks session cookies and CSRF tokens."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        seed = token.encode() if token else secrets.token_bytes(32)
        self.key = hashlib.sha256(b"pairsync-dashboard-session:" + seed).digest()

    @property
    def open(self) -> bool:
        """No token configured: loopback only, nobody needs to log in."""
        return self.token is None

    def issue(self, authenticated: bool) -> tuple[Session, str]:
        session = Session(secrets.token_urlsafe(18), int(time.time()) + LIFETIME, authenticated)
        body = f"{session.id}.{session.expires}.{int(session.authenticated)}"
        return session, f"{body}.{self._mac(body)}"

    def read(self, cookie: str | None) -> Session | None:
        if not cookie or cookie.count(".") != 3:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        sid, expires, authenticated = body.split(".")
        if not expires.isdigit() or int(expires) < time.time():
            return None
        return Session(sid, int(expires), authenticated == "1")

    def csrf(self, session: Session) -> str:
        return self._mac(f"csrf:{session.id}")

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _mac(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()


def set_cookie(response: Response, cookie: str, request: Request) -> None:
    response.set_cookie(
        COOKIE, cookie, max_age=LIFETIME, httponly=True, samesite="strict", secure=request.url.scheme == "https",
        path="/",
    )


class WebAuth:
    """ASGI middleware for dashboard paths: a session (logging in when a token is set), CSRF on every POST."""

    def __init__(self, app: Any, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_web(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        session = self.sessions.read(request.cookies.get(COOKIE))
        fresh = None
        if session is None and (self.sessions.open or scope["path"] == "/login"):
            session, fresh = self.sessions.issue(authenticated=self.sessions.open)
        if scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if session is None or (not session.authenticated and scope["path"] != "/login"):
            await self._to_login(request)(scope, receive, send)
            return
        if request.method == "POST":
            body = await request.body()
            receive = _replay(body)
        if request.method == "POST" and not self._csrf_ok(request, body, session):
            response: Response = PlainTextResponse(
                "refused: this form is out of date or came from another site; reload the page and try again", 403
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["session"] = session
        scope["state"]["csrf"] = self.sessions.csrf(session)
        scope["state"]["login_required"] = not self.sessions.open
        if fresh is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _with_cookie(send, fresh, request))

    def _csrf_ok(self, request: Request, body: bytes, session: Session) -> bool:
        given = request.headers.get(CSRF_HEADER)
        if given is None:
            given = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])[0]
        return hmac.compare_digest(given.encode(), self.sessions.csrf(session).encode())

    def _to_login(self, request: Request) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)


def _replay(body: bytes) -> Any:
    """A `receive` that hands the already-read body to the application."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _with_cookie(send: Any, cookie: str, request: Request) -> Any:
    """Add the new session's Set-Cookie header to the response."""
    holder = Response()
    set_cookie(holder, cookie, request)
    header = next((k, v) for k, v in holder.raw_headers if k == b"set-cookie")

    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), header]}
        await send(message)

    return wrapped
