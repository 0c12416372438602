"""The sandbox's QuickBooks-shaped errors: a Fault envelope with an HTTP status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class ApiFault(Exception):
    """Raised inside the sandbox; rendered as `{"Fault": {"Error": [...], "type": ...}}`."""

    def __init__(
        self, code: str, message: str, detail: str = "", element: str = "", kind: str = "ValidationFault",
        status: int = 400,
    ) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.detail = detail or message
        self.element = element
        self.kind = kind
        self.status = status

    def envelope(self) -> dict[str, Any]:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}
        return {"Fault": {"Error": [error], "type": self.kind}, "time": stamp()}


def stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat(timespec="milliseconds")


def auth_envelope(detail: str) -> dict[str, Any]:
    """401 bodies use lower-case keys, as QuickBooks' authentication layer does."""
    error = {
        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "detail": detail,
        "code": "3200",
    }
    return {"fault": {"error": [error], "type": "AUTHENTICATION"}, "time": stamp()}


def not_found(record_id: str) -> ApiFault:
    return ApiFault("610", "Object Not Found", f"Object Not Found : Customer {record_id} does not exist", "Id")


def stale(record_id: str) -> ApiFault:
    return ApiFault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on customer {record_id} at the same time. "
        "The other user finished first, so your work was not saved.",
    )


def duplicate_name(name: str) -> ApiFault:
    return ApiFault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another customer, vendor or employee is already using {name!r}.",
        "DisplayName",
    )


def refused_email(email: str) -> ApiFault:
    """The business validation fault the `fail_emails` knob answers for a write carrying `email`."""
    return ApiFault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: the email address {email!r} is refused (sandbox fail_emails).",
        "PrimaryEmailAddr.Address",
    )
