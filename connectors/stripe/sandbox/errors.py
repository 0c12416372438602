"""Stripe's error envelope: `{"error": {"type", "code", "message", "param"}}` with its status codes."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error the sandbox answers in Stripe's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}

    def response(self, request_id: str | None = None) -> JSONResponse:
        error = self.body()
        request_id = request_id or new_request_id()
        if self.status < 500 and self.status != 429:
            error["error"]["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        headers = {"Request-Id": request_id, **self.headers}
        return JSONResponse(error, status_code=self.status, headers=headers)


def new_request_id() -> str:
    return f"req_{secrets.token_hex(7)}"


def request_headers() -> dict[str, str]:
    return {"Request-Id": new_request_id()}


def unrecognized_url(method: str, path: str) -> ApiError:
    """Stripe's answer to a URL or method it does not serve."""
    message = (f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
               "https://support.stripe.com/.")
    return ApiError(404, message)


def missing(kind: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def bad_param(param: str, message: str, code: str = "parameter_invalid") -> ApiError:
    return ApiError(400, message, code=code, param=param)


def unknown_param(param: str) -> ApiError:
    return ApiError(400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def rate_limited(retry_after: float | None) -> ApiError:
    headers = {"Stripe-Should-Retry": "true"}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:.3f}"
    message = "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
    return ApiError(429, message, code="rate_limit", headers=headers)


def server_error(status: int) -> ApiError:
    return ApiError(status, "An unknown error occurred", type_="api_error")
