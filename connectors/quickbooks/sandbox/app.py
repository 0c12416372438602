"""The sandbox's routes: QuickBooks Online v3 paths, encodings and envelopes over starlette.

The `fail_emails` knob (`QuickBooksSandbox.fail_emails`) makes API writes carrying
one of those addresses fail with a 6000 ValidationFault: a single write with HTTP
400, a batch item with a Fault of its own while the other items are written.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.quickbooks.sandbox import search
from connectors.quickbooks.sandbox.discovery import DISCOVERY_PATH, discovery_document
from connectors.quickbooks.sandbox.faults import (
    ApiFault,
    auth_envelope,
    refused_email,
    render,
    stamp,
    unsupported_operation,
)
from connectors.quickbooks.sandbox.store import Store, lookup
from connectors.quickbooks.sandbox.tokens import TokenService

MAX_BATCH_ITEMS = 30
Handler = Callable[[Request], Awaitable[Response]]


def build_app(store: Store, tokens: TokenService, realm_id: str) -> Starlette:
    """One company (`realm_id`) behind the OAuth2 token endpoint."""

    def api(handler: Callable[[Request], Awaitable[Any]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not tokens.access_ok(request.headers.get("authorization")):
                return JSONResponse(auth_envelope("Token expired or invalid"), status_code=401,
                                    headers={"www-authenticate": 'Bearer realm="Intuit"'})
            if request.path_params["realm"] != realm_id:
                fault = ApiFault("3100", "ApplicationAuthorizationFailed", "the token is not valid for this company",
                                 kind="SECURITY", status=403)
                return render(fault, request.headers.get("accept"))
            try:
                return JSONResponse(await handler(request))
            except ApiFault as fault:
                return render(fault, request.headers.get("accept"))

        return endpoint

    async def token(request: Request) -> Response:
        if not tokens.client_ok(request.headers.get("authorization")):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        answer = tokens.refresh(form.get("refresh_token", ""))
        if answer is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(answer, headers={"cache-control": "no-store"})

    async def query(request: Request) -> Any:
        statement = request.query_params.get("query")
        if request.method == "POST":
            statement = (await request.body()).decode()
        if not statement:
            raise ApiFault("4000", "Error parsing query", "QueryParserError: empty query")
        return {"QueryResponse": search.run(store, statement), "time": stamp()}

    async def read(request: Request) -> Any:
        return {"Customer": store.get(request.path_params["id"]), "time": stamp()}

    async def write(request: Request) -> Any:
        operation = request.query_params.get("operation")
        if operation:  # delete, void, ...: Customer has none; a user makes a customer inactive instead
            raise ApiFault("500", "Unsupported Operation",
                           f"Operation {operation} is not supported for Customer (set Active to false to "
                           "make a customer inactive).")
        request_id = request.query_params.get("requestid")
        remembered = store.recall(request_id)
        if remembered is not None:
            return remembered[1]
        store.interleave()
        answer = {"Customer": _write_one(store, await _json(request)), "time": stamp()}
        store.remember(request_id, 200, answer)
        return answer

    async def cdc(request: Request) -> Any:
        entities = {e.strip().lower() for e in request.query_params.get("entities", "").split(",")}
        raw_since = request.query_params.get("changedSince", "")
        try:
            since = datetime.fromisoformat(raw_since.replace("Z", "+00:00"))
        except ValueError as error:
            raise ApiFault("2010", "Request has invalid or unsupported property",
                           f"changedSince {raw_since!r} is not a date-time", "changedSince") from error
        if since.tzinfo is None:
            since = since.replace(tzinfo=store.now().tzinfo)
        changed = store.changed_since(since) if "customer" in entities else []
        response: dict[str, Any] = {"startPosition": 1, "maxResults": len(changed)}
        if changed:
            response["Customer"] = changed
        return {"CDCResponse": [{"QueryResponse": [response]}], "time": stamp()}

    async def batch(request: Request) -> Any:
        request_id = request.query_params.get("requestid")
        remembered = store.recall(request_id)
        if remembered is not None:
            return remembered[1]
        store.interleave()
        items = (await _json(request)).get("BatchItemRequest")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise ApiFault("2010", "Request has invalid or unsupported property",
                           f"BatchItemRequest must hold 1 to {MAX_BATCH_ITEMS} items", "BatchItemRequest")
        answer = {"BatchItemResponse": [_batch_item(store, item) for item in items], "time": stamp()}
        store.remember(request_id, 200, answer)
        return answer

    async def unsupported(request: Request) -> Response:
        fault = unsupported_operation(request.url.path, str(request.url))
        return render(fault, request.headers.get("accept"))

    base = "/v3/company/{realm}"
    return Starlette(routes=[
        Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
        Route(DISCOVERY_PATH, discovery_document, methods=["GET"]),
        Route(base + "/query", api(query), methods=["GET", "POST"]),
        Route(base + "/customer/{id}", api(read), methods=["GET"]),
        Route(base + "/customer", api(write), methods=["POST"]),
        Route(base + "/cdc", api(cdc), methods=["GET"]),
        Route(base + "/batch", api(batch), methods=["POST"]),
        Route("/{rest:path}", unsupported, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    ])


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise ApiFault("2010", "Request has invalid or unsupported property", "the body is not JSON") from error
    if not isinstance(body, dict):
        raise ApiFault("2010", "Request has invalid or unsupported property", "the body must be a JSON object")
    return body


def _write_one(store: Store, customer: dict[str, Any]) -> dict[str, Any]:
    """POST /customer: an update when the body carries an Id, else a create."""
    _refuse_marked(store, customer)
    if customer.get("Id"):
        return store.update(customer)
    return store.create(customer)


def _batch_item(store: Store, item: Any) -> dict[str, Any]:
    """One BatchItemResponse entry: the object, or a Fault for this item alone."""
    bid = item.get("bId") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict):
            raise ApiFault("2010", "Request has invalid or unsupported property", "a batch item must be an object")
        if "Query" in item:
            return {"bId": bid, "QueryResponse": search.run(store, str(item["Query"]))}
        customer = item.get("Customer")
        operation = item.get("operation")
        if not isinstance(customer, dict) or operation not in ("create", "update"):
            raise ApiFault("2010", "Request has invalid or unsupported property",
                           "a batch item needs a Customer and operation create or update", "operation")
        _refuse_marked(store, customer)
        if operation == "update":
            if not customer.get("Id"):
                raise ApiFault("2020", "Required param missing, need to supply the required value for the API",
                               "Required parameter Id is missing in the request", "Id")
            return {"bId": bid, "Customer": store.update(customer)}
        return {"bId": bid, "Customer": store.create(customer)}
    except ApiFault as fault:
        return {"bId": bid, "Fault": fault.envelope()["Fault"]}


def _refuse_marked(store: Store, customer: dict[str, Any]) -> None:
    """The `fail_emails` knob: a write carrying one of those addresses is refused."""
    email = lookup(customer, "PrimaryEmailAddr.Address")
    if isinstance(email, str) and email.strip().casefold() in {e.casefold() for e in store.fail_emails}:
        raise refused_email(email)
