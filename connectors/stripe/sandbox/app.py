"""The sandbox's HTTP surface: Stripe's paths, form encoding, auth, idempotency and envelopes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import ApiError, new_request_id, request_headers, server_error, unrecognized_url
from .forms import decode
from .query import expand, page, search_page
from .store import Store

if TYPE_CHECKING:
    from . import StripeSandbox

ANY_METHOD = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]
Handler = Callable[[Store, dict[str, Any], dict[str, str]], dict[str, Any]]
IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first used with. "
    "Try using a key other than '{key}' if you meant to execute a different request."
)


def _masked(key: str) -> str:
    return f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"


def _api_key(request: Request, accepted: str) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not value or scheme.lower() not in ("bearer", "basic"):
        message = "You did not provide an API key. Provide it in the Authorization header (Bearer auth)."
        raise ApiError(401, message)
    if scheme.lower() == "basic":
        import base64

        value = base64.b64decode(value).decode(errors="replace").split(":", 1)[0]
    if value != accepted:
        raise ApiError(401, f"Invalid API Key provided: {_masked(value)}")
    return value


class StripeApp:
    """Starlette routes over one Store; every handler returns a Stripe object or list."""

    def __init__(self, sandbox: StripeSandbox) -> None:
        self.sandbox = sandbox
        self.replays: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = {}
        # Reliability knob: this many committed POSTs answer 500 as if the response were lost on the way.
        self.lose_responses = 0

    def route(self, path: str, handler: Handler, method: str) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.serve(request, handler)

        return Route(path, endpoint, methods=[method])

    async def serve(self, request: Request, handler: Handler) -> Response:
        request_id = new_request_id()
        try:
            key = _api_key(request, self.sandbox.api_key)
            body = (await request.body()).decode() if request.method == "POST" else ""
            params = {**decode(request.url.query), **decode(body)}
            idem = request.headers.get("idempotency-key") if request.method == "POST" else None
            fingerprint = f"{request.method} {request.url.path} {body}"
            if idem and (replay := self._replay(key, idem, fingerprint)) is not None:
                return replay
            paths = params.pop("expand", [])
            store = self.sandbox.store
            with store.lock:
                # Events this request causes name it, as Stripe's `event.request` does.
                store.request = {"id": request_id, "idempotency_key": idem}
                try:
                    result = handler(store, params, dict(request.path_params))
                finally:
                    store.request = {"id": None, "idempotency_key": None}
                result = expand(store, result, paths)
            if idem:
                self.replays[(key, idem)] = (fingerprint, 200, result)
            if request.method == "POST" and self.lose_responses > 0:
                self.lose_responses -= 1
                return server_error(500).response()
            return JSONResponse(result, headers={"Request-Id": request_id})
        except ApiError as error:
            return error.response(request_id)

    def _replay(self, key: str, idem: str, fingerprint: str) -> Response | None:
        """Same key and body: the first response again; same key, other body: an idempotency error."""
        stored = self.replays.get((key, idem))
        if stored is None:
            return None
        first, status, body = stored
        if first != fingerprint:
            return ApiError(400, IDEMPOTENCY_MISMATCH.format(key=idem), type_="idempotency_error").response()
        headers = {**request_headers(), "Idempotent-Replayed": "true"}
        return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)

    def app(self) -> Starlette:
        from . import handlers as h

        routes = [
            self.route("/v1/customers/search", h.search_customers, "GET"),
            self.route("/v1/customers", h.list_customers, "GET"),
            self.route("/v1/customers", h.create_customer, "POST"),
            self.route("/v1/customers/{id}", h.retrieve_customer, "GET"),
            self.route("/v1/customers/{id}", h.update_customer, "POST"),
            self.route("/v1/customers/{id}", h.delete_customer, "DELETE"),
            self.route("/v1/products/search", h.search_products, "GET"),
            self.route("/v1/products", h.list_products, "GET"),
            self.route("/v1/products", h.create_product, "POST"),
            self.route("/v1/products/{id}", h.retrieve_product, "GET"),
            self.route("/v1/products/{id}", h.update_product, "POST"),
            self.route("/v1/prices/search", h.search_prices, "GET"),
            self.route("/v1/prices", h.list_prices, "GET"),
            self.route("/v1/prices", h.create_price, "POST"),
            self.route("/v1/prices/{id}", h.retrieve_price, "GET"),
            self.route("/v1/prices/{id}", h.update_price, "POST"),
            self.route("/v1/subscriptions/search", h.search_subscriptions, "GET"),
            self.route("/v1/subscriptions", h.list_subscriptions, "GET"),
            self.route("/v1/subscriptions", h.create_subscription, "POST"),
            self.route("/v1/subscriptions/{id}", h.retrieve_subscription, "GET"),
            self.route("/v1/subscriptions/{id}", h.update_subscription, "POST"),
            self.route("/v1/subscriptions/{id}", h.cancel_subscription, "DELETE"),
            self.route("/v1/events", h.list_events, "GET"),
            self.route("/v1/events/{id}", h.retrieve_event, "GET"),
        ]
        return Starlette(routes=[*routes, Route("/{rest:path}", self.unrecognized, methods=ANY_METHOD)])

    async def unrecognized(self, request: Request) -> Response:
        """A path or method Stripe does not serve (or the sandbox does not implement): Stripe's 404."""
        try:
            _api_key(request, self.sandbox.api_key)
        except ApiError as error:
            return error.response()
        return unrecognized_url(request.method, request.url.path).response()


__all__ = ["StripeApp", "page", "search_page"]
