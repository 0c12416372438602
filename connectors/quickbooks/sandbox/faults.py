"""The sandbox's QuickBooks-shaped errors: a Fault envelope with an HTTP status."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from starlette.responses import JSONResponse, Response

XML_NAMESPACE = "http://schema.intuit.com/finance/v3"


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


def render(fault: ApiFault, accept: str | None) -> Response:
    """The Fault as JSON, or as QuickBooks' XML `IntuitResponse` when the client asks for XML only."""
    headers = {"intuit_tid": f"sandbox-{secrets.token_hex(8)}"}
    wants = (accept or "").lower()
    if "xml" in wants and "json" not in wants:
        root = ElementTree.Element("IntuitResponse", {"xmlns": XML_NAMESPACE, "time": stamp()})
        holder = ElementTree.SubElement(root, "Fault", {"type": fault.kind})
        error = ElementTree.SubElement(holder, "Error", {"code": fault.code, "element": fault.element})
        ElementTree.SubElement(error, "Message").text = fault.message
        ElementTree.SubElement(error, "Detail").text = fault.detail
        body = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + ElementTree.tostring(root)
        return Response(body, status_code=fault.status, media_type="application/xml", headers=headers)
    return JSONResponse(fault.envelope(), status_code=fault.status, headers=headers)


def unsupported_operation(path: str, url: str) -> ApiFault:
    """What QuickBooks answers for a resource or method it does not serve (or the sandbox does not implement)."""
    return ApiFault("500", "Unsupported Operation",
                    f"Operation Could not find resource for relative : {path} of full path: {url} is not supported.")


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


def invalid_property(name: str) -> ApiFault:
    """A body property the Customer entity does not document, refused as QuickBooks' deserializer refuses it."""
    return ApiFault("2010", "Request has invalid or unsupported property",
                    f"Property Name:Unrecognized field \"{name}\" specified is unsupported or invalid", name)


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
