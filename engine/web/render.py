"""Jinja2 templates with autoescaping everywhere; a block of a page is its fragment for htmx updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from starlette.requests import Request
from starlette.responses import HTMLResponse

from engine.secrets import REDACTOR
from engine.web.views import display_name, email_of, field_words

HTMX = "vendor/htmx-2.0.11.min.js"
HTMX_SSE = "vendor/htmx-ext-sse-2.2.4.min.js"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(files("engine.web") / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, ago=ago, shown=shown, name=display_name, email=email_of, fieldwords=field_words)
    env.globals.update(htmx=HTMX, htmx_sse=HTMX_SSE)
    return env


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A whole page, or only the block named by `?fragment=` (or htmx's `HX-Target` when it names a block)."""
    context = {**_common(request), **context}
    block = _wanted_block(request)
    if block is not None:
        try:
            return HTMLResponse(_redacted(render_block(environment(), template, block, **context)), status)
        except (KeyError, ValueError, LookupError):
            pass  # not a block of this page: the whole page
    return HTMLResponse(_redacted(environment().get_template(template).render(**context)), status)


def fragment(request: Request, template: str, block: str, **context: Any) -> str:
    context = {**_common(request), **context}
    return _redacted(render_block(environment(), template, block, **context))


def _common(request: Request) -> dict[str, Any]:
    state = request.state
    return {
        "request": request,
        "csrf": getattr(state, "csrf", ""),
        "login_required": getattr(state, "login_required", False),
    }


def _wanted_block(request: Request) -> str | None:
    name = request.query_params.get("fragment")
    if name is None and request.headers.get("hx-request") and not request.headers.get("hx-boosted"):
        name = request.headers.get("hx-target")
    if name is None or not name.replace("_", "").replace("-", "").isalnum():
        return None
    return name.replace("-", "_")


def _redacted(html: str) -> str:
    """Known secrets never reach a page, whatever a record or an error message carries."""
    return REDACTOR.redact(html)


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            text = f"{seconds // size} {unit}"
            break
    else:
        text = f"{seconds} s"
    return f"in {text}" if future else f"{text} ago"


def shown(value: Any, width: int = 80) -> str:
    """A field value as short text (the template escapes it)."""
    if value is None or value == "":
        return "(empty)"
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
