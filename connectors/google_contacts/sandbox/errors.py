"""Google's error envelope: `{"error": {"code", "message", "status", "details"}}`."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
STATUS_OF = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}
MESSAGES = {
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user'.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
}


class ApiError(Exception):
    """Raised by a handler; the app turns it into the envelope."""

    def __init__(self, code: int, message: str, status: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_OF.get(code, "UNKNOWN")
        self.reason = reason

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [{"@type": ERROR_INFO, "reason": self.reason, "domain": "googleapis.com"}]
        return {"error": error}

    def response(self, retry_after: float | None = None) -> JSONResponse:
        headers = {"Retry-After": f"{retry_after:.3f}"} if retry_after is not None else None
        return JSONResponse(self.envelope(), status_code=self.code, headers=headers)


def error_response(status: int, retry_after: float | None = None) -> JSONResponse:
    """The envelope for an injected fault or a rate limit."""
    reason = "RATE_LIMIT_EXCEEDED" if status == 429 else None
    message = MESSAGES.get(status, "Error")
    return ApiError(status, message, reason=reason).response(retry_after)


def expired_sync_token() -> ApiError:
    return ApiError(
        400,
        "Sync token is expired. Clear local cache and retry call without the sync token.",
        status="FAILED_PRECONDITION",
        reason="EXPIRED_SYNC_TOKEN",
    )


def etag_mismatch() -> ApiError:
    return ApiError(
        400,
        "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.",
        status="FAILED_PRECONDITION",
    )
