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

    def __init__(
        self, code: int, message: str, status: str | None = None, reason: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_OF.get(code, "UNKNOWN")
        self.reason = reason
        self.details = details or []

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        details = list(self.details)
        if self.reason:
            details.insert(0, {"@type": ERROR_INFO, "reason": self.reason, "domain": "googleapis.com"})
        if details:
            error["details"] = details
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


INVALID_ARGUMENT_CODE = 3  # google.rpc.Code.INVALID_ARGUMENT, as in a Status
BATCH_ERROR_DETAILS = {
    "create": "type.googleapis.com/google.people.v1.BatchCreateContactsErrorDetails",
    "update": "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails",
}


def refused_email(where: str, email: str) -> str:
    """The validation message for a contact the `fail_emails` knob refuses."""
    return f"Invalid value at '{where}.email_addresses': {email!r} is refused (sandbox fail_emails)."


def batch_refused(operation: str, contact_errors: dict[str, str]) -> ApiError:
    """A batch mutation refused as a whole, naming the contacts that caused it, as Google does.

    Keys are request indexes (create) or resource names (update); contacts not
    named would have been written.
    """
    errors = {key: {"code": INVALID_ARGUMENT_CODE, "message": message} for key, message in contact_errors.items()}
    detail = {"@type": BATCH_ERROR_DETAILS[operation], "contactErrors": errors}
    return ApiError(400, "Request contains an invalid argument.", details=[detail])
