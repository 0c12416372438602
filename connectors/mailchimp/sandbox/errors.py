"""Mailchimp's error envelope: `application/problem+json` with type, title, status, detail, instance."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import Response

DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEM = "application/problem+json; charset=utf-8"
TITLES = {
    400: "Invalid Resource",
    401: "API Key Invalid",
    403: "Forbidden",
    404: "Resource Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
DETAILS = {
    401: "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
    404: "The requested resource could not be found.",
    405: "The requested method and resource are not compatible. See the Allow header for this resource's "
         "available methods.",
    429: "You have exceeded the limit of 10 simultaneous connections.",
    500: "An unexpected internal error has occurred. Please contact Support for more information.",
    502: "The server received an invalid response from an upstream server.",
    503: "The service is temporarily unavailable. Please try again later.",
}
VALIDATION = "The resource submitted could not be validated. For field-specific details, see the 'errors' array."


class ApiError(Exception):
    """Raised by a handler; the app answers it as problem+json."""

    def __init__(self, status: int, detail: str | None = None, title: str | None = None,
                 errors: list[dict[str, str]] | None = None) -> None:
        self.status = status
        self.title = title or TITLES.get(status, "Error")
        self.detail = detail or DETAILS.get(status, "")
        self.errors = errors or []
        super().__init__(f"{self.status} {self.title}: {self.detail}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": DOCS, "title": self.title, "status": self.status, "detail": self.detail,
                                "instance": str(uuid.uuid4())}
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self, retry_after: float | None = None) -> Response:
        headers = {"Retry-After": f"{retry_after:.3f}"} if retry_after is not None else None
        return Response(json.dumps(self.body()), status_code=self.status, media_type=PROBLEM, headers=headers)


def invalid_field(field: str, message: str) -> ApiError:
    return ApiError(400, VALIDATION, errors=[{"field": field, "message": message}])


def error_response(status: int, retry_after: float | None = None) -> Response:
    """The envelope for an injected fault or a rate limit."""
    return ApiError(status).response(retry_after)
