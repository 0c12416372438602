"""The dashboard served by `pairsync serve` at `/`: connections, runs, records, review and failures.

Server-rendered Jinja2 pages whose blocks double as htmx fragments, htmx
vendored in `static/vendor/` (no Node build), live run progress over
server-sent events. Every page reads without JavaScript; forms post and
redirect back. Pages live at `/` and under `/ui/`, so the JSON API keeps
every path it documents. See docs/dashboard.md.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from engine.service.app import Service
from engine.web.pages import web_routes
from engine.web.session import Sessions, WebAuth

__all__ = ["dashboard"]


def dashboard(service: Service, token: str | None) -> tuple[list[BaseRoute], Middleware]:
    """The dashboard's routes and the middleware that guards them (sessions, login, CSRF)."""
    sessions = Sessions(token)
    static = Mount("/static", app=StaticFiles(directory=str(files("engine.web") / "static")), name="static")
    return [*web_routes(service, sessions), static], Middleware(WebAuth, sessions=sessions)
