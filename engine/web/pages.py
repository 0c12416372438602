"""The dashboard's routes: six screens, their fragments, the actions behind their buttons, login and the stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from engine.planner.model import Side, other
from engine.runner import plan_connection
from engine.service import history
from engine.service.app import Refused, Service
from engine.state.review import DELETION
from engine.web import queries
from engine.web.render import fragment, page
from engine.web.session import COOKIE, Sessions, set_cookie
from engine.web.views import connection_row, connection_rows, mapping_rows, plan_lines, rule_words

STREAM_EVERY = 1.0
"""Seconds between two looks at the connections for the live stream."""


async def _form(request: Request) -> dict[str, list[str]]:
    """An urlencoded form (every dashboard form is one), without a multipart parser."""
    return parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


def _one(form: dict[str, list[str]], name: str) -> str:
    return form.get(name, [""])[0]


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _side(raw: str) -> Side | None:
    return raw if raw in ("left", "right") else None  # type: ignore[return-value]


def _back(request: Request, fallback: str) -> RedirectResponse:
    """After a POST: back to the page the form was on (same site only), as the no-JavaScript flow expects."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    target = referer[len(origin) :] if referer.startswith(origin + "/") else fallback
    return RedirectResponse(target, 303)


def web_routes(service: Service, sessions: Sessions) -> list[BaseRoute]:
    """Every dashboard route, bound to one service."""

    def connection(name: str) -> Any:
        return next((c for c in service.loaded.config.connections if c.name == name), None)

    def missing(request: Request, what: str) -> Response:
        return page(request, "message.html", 404, heading="Not found", message=what)

    # 1. connections -----------------------------------------------------------------

    async def home(request: Request) -> Response:
        return page(request, "connections.html", rows=connection_rows(service))

    async def stream(request: Request) -> Response:
        """Server-sent events: the connections table whenever it changes (runs starting, progressing, ending)."""
        limit = _int(request.query_params.get("events"))

        async def events() -> AsyncIterator[str]:
            sent, last = 0, None
            while not service.runs.stopping and (limit is None or sent < limit):
                html = fragment(request, "connections.html", "connections_rows", rows=connection_rows(service))
                if html != last:
                    last, sent = html, sent + 1
                    yield "event: connections\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
                if limit is not None and sent >= limit:
                    return
                await asyncio.sleep(STREAM_EVERY)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def switch(request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if connection(name) is None or action not in {"enable", "disable"}:
            return missing(request, f"no connection named {name}")
        try:
            service.set_enabled(name, action == "enable")
        except Refused as refused:
            return page(request, "message.html", 409, heading="Not changed", message=str(refused))
        return _back(request, "/")

    async def run_now(request: Request) -> Response:
        name = request.path_params["name"]
        if connection(name) is None:
            return missing(request, f"no connection named {name}")
        if not any(c.name == name for c in service.active()):
            return page(request, "message.html", 409, heading="Not started", message=f"{name} is disabled")
        if not service.runs.running(name):
            service.spawn_run(name, "dashboard")
        return _back(request, "/")

    # 2. connection -------------------------------------------------------------------

    async def show_connection(request: Request) -> Response:
        name = request.path_params["name"]
        found = connection(name)
        if found is None:
            return missing(request, f"no connection named {name}")
        return page(
            request,
            "connection.html",
            c=connection_row(service, found, history.held(service.store)),
            mapping=mapping_rows(service, found),
            rules=rule_words(found),
            runs=queries.runs(service.store, name, _int(request.query_params.get("before"))),
        )

    async def preview(request: Request) -> Response:
        name = request.path_params["name"]
        found = connection(name)
        if found is None:
            return missing(request, f"no connection named {name}")
        report = await plan_connection(service.loaded, found, service.store)
        return page(request, "preview.html", name=name, report=report, lines=plan_lines(report.plan))

    # 3. run ------------------------------------------------------------------------------

    async def show_run(request: Request) -> Response:
        run = service.store.run(request.path_params["run_id"])
        if run is None:
            return missing(request, "no such run")
        q, kind = request.query_params.get("q", ""), request.query_params.get("kind", "")
        events = queries.events(service.store, run["id"], q, kind, _int(request.query_params.get("after")))
        finished = run["finished_at"]
        duration = f"{(finished - run['started_at']).total_seconds():.1f} s" if finished else "still running"
        return page(
            request, "run.html", run=run, events=events, q=q, kind=kind, duration=duration,
            kinds=queries.event_kinds(service.store, run["id"]),
        )

    # 4. records ---------------------------------------------------------------------------

    async def list_records(request: Request) -> Response:
        name = request.path_params["name"]
        if connection(name) is None:
            return missing(request, f"no connection named {name}")
        q, synced = request.query_params.get("q", ""), request.query_params.get("synced", "")
        choice = {"yes": True, "no": False}.get(synced)
        found = queries.records(service.store, name, choice, q, request.query_params.get("after") or None)
        return page(request, "records.html", name=name, page=found, q=q, synced=synced)

    async def show_record(request: Request) -> Response:
        name, side, record_id = (request.path_params[k] for k in ("name", "side", "record_id"))
        if connection(name) is None or _side(side) is None:
            return missing(request, f"no connection named {name}")
        found = queries.record(service.store, name, side, record_id)
        if found is None:
            return missing(request, f"no {side} record {record_id} in the record index of {name}")
        link = queries.partner(service.store, name, side, record_id)
        ids = list(link) if link else [record_id]
        return page(
            request, "record.html", name=name, side=side, rec=found, link=link, other=other(side),
            link_other=(link[1] if side == "left" else link[0]) if link else None,
            history=queries.history(service.store, name, ids, _int(request.query_params.get("before"))),
        )

    async def resync(request: Request) -> Response:
        """A targeted sync of one record (and its linked partner): "Resync" and "Retry"."""
        name, record_id = request.path_params["name"], request.path_params["record_id"]
        side = _side(request.path_params["side"])
        if connection(name) is None or side is None:
            return missing(request, f"no connection named {name}")
        if not any(c.name == name for c in service.active()):
            return page(request, "message.html", 409, heading="Not started", message=f"{name} is disabled")
        named: dict[Side, list[str]] = {side: [record_id]}
        link = queries.partner(service.store, name, side, record_id)
        if link is not None:
            named[other(side)] = [link[1] if side == "left" else link[0]]
        service.spawn_run(name, "resync", named)
        return _back(request, f"/ui/connections/{name}/records/{side}/{record_id}")

    # 5. review ----------------------------------------------------------------------------------

    async def review(request: Request) -> Response:
        name = request.path_params["name"]
        found = connection(name)
        if found is None:
            return missing(request, f"no connection named {name}")
        store = service.store
        before = _int(request.query_params.get("before"))
        deletions = store.review_items(name, DELETION, "pending", limit=51, before=before)
        return page(
            request, "review.html", name=name, reviewing=found.deletions.review,
            deletions=deletions[:50], deletions_next=deletions[49]["id"] if len(deletions) > 50 else None,
            deletion_count=store.count_review(name, DELETION),
            decided=sum(store.count_review(name, DELETION, status) for status in ("approved", "dismissed")),
            picks=store.review_items(name, "pick", "pending", limit=50),
            conflicts=queries.conflicts(store, name, _int(request.query_params.get("conflicts_before"))),
            conflict_runs=queries.CONFLICT_RUNS,
        )

    async def pick(request: Request) -> Response:
        name = request.path_params["name"]
        event_id = _int(_one(await _form(request), "event"))
        event = service.store.event(event_id) if event_id is not None else None
        detail = event["detail"] if event else {}
        run = service.store.run(event["run_id"]) if event else None
        if event is None or event["kind"] != "conflict" or run is None or run["connection"] != name:
            return missing(request, "no such conflict")
        service.store.pick_value(name, detail["left_id"], detail["right_id"], detail["field"], detail["losing_value"])
        return _back(request, f"/ui/connections/{name}/review")

    async def decide(request: Request) -> Response:
        name = request.path_params["name"]
        form = await _form(request)
        one = _one(form, "one")
        if one:
            item, _, decision = one.partition(":")
            items = [item]
        else:
            items, decision = form.get("item", []), _one(form, "decision")
        if decision not in ("approved", "dismissed"):
            return page(request, "message.html", 400, heading="Not decided", message="approve or dismiss")
        service.store.decide(name, [int(i) for i in items if i.isdigit()], decision)
        return _back(request, f"/ui/connections/{name}/review")

    # 6. failures --------------------------------------------------------------------------------------

    async def failures(request: Request) -> Response:
        name = request.path_params["name"]
        if connection(name) is None:
            return missing(request, f"no connection named {name}")
        found = queries.failures(service.store, name, request.query_params.get("after") or None)
        return page(request, "failures.html", name=name, page=found)

    # login ------------------------------------------------------------------------------------------------

    async def login(request: Request) -> Response:
        target = request.query_params.get("next", "/")
        if request.method == "GET":
            return page(request, "login.html", next=_local(target))
        form = await _form(request)
        target = _local(_one(form, "next") or "/")
        if sessions.open:
            return RedirectResponse(target, 303)
        if not sessions.token_matches(_one(form, "token")):
            return page(request, "login.html", 401, next=target, error="That is not the service's API token.")
        response = RedirectResponse(target, 303)
        _session, cookie = sessions.issue(authenticated=True)
        set_cookie(response, cookie, request)
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login" if not sessions.open else "/", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return [
        Route("/", home),
        Route("/ui/stream", stream),
        Route("/ui/connections/{name}", show_connection),
        Route("/ui/connections/{name}/preview", preview),
        Route("/ui/connections/{name}/run", run_now, methods=["POST"]),
        Route("/ui/connections/{name}/records", list_records),
        Route("/ui/connections/{name}/records/{side}/{record_id:path}/resync", resync, methods=["POST"]),
        Route("/ui/connections/{name}/records/{side}/{record_id:path}", show_record),
        Route("/ui/connections/{name}/review", review),
        Route("/ui/connections/{name}/review/pick", pick, methods=["POST"]),
        Route("/ui/connections/{name}/review/deletions", decide, methods=["POST"]),
        Route("/ui/connections/{name}/failures", failures),
        Route("/ui/connections/{name}/{action}", switch, methods=["POST"]),
        Route("/ui/runs/{run_id:int}", show_run),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


def _local(target: str) -> str:
    """Only a path on this site is a place to go after logging in."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"
