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

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers={**request_headers(), **self.headers})


def request_headers() -> dict[str, str]:
    return {"Request-Id": f"req_{secrets.token_hex(7)}"}


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
