"""The QuickBooks `Fault` envelope turned into one clear message per record.

QuickBooks answers errors as `{"Fault": {"Error": [{"Message", "Detail", "code",
"element"}], "type"}}`; authentication faults use the same shape in lower case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.connector import AuthenticationFailed

STALE_SYNC_TOKEN = "5010"
DUPLICATE_NAME = "6240"
OBJECT_NOT_FOUND = "610"
THROTTLED = "3001"


@dataclass(frozen=True)
class FaultError:
    code: str
    message: str = ""
    detail: str = ""
    element: str = ""


@dataclass(frozen=True)
class Fault:
    """One parsed Fault: its type (ValidationFault, SystemFault, ...) and its errors."""

    type: str = ""
    errors: list[FaultError] = field(default_factory=list)
    status: int | None = None

    @property
    def codes(self) -> set[str]:
        return {error.code for error in self.errors}

    def has(self, code: str) -> bool:
        return code in self.codes

    def describe(self) -> str:
        """A message naming the code, the field (element) and what QuickBooks said."""
        if not self.errors:
            return f"QuickBooks {self.type or 'error'} (HTTP {self.status})"
        return "; ".join(_describe_one(error, self.type) for error in self.errors)


def _describe_one(error: FaultError, fault_type: str) -> str:
    where = f" on field {error.element}" if error.element else ""
    text = error.detail or error.message
    label = f"{fault_type} {error.code}" if fault_type else f"error {error.code}"
    return f"QuickBooks {label}{where}: {text}".strip()


def _get(mapping: Any, key: str) -> Any:
    """Look a key up in either spelling (Fault/fault, Error/error)."""
    if not isinstance(mapping, dict):
        return None
    if key in mapping:
        return mapping[key]
    return mapping.get(key.lower(), mapping.get(key[:1].upper() + key[1:]))


def parse_fault(payload: Any, status: int | None = None) -> Fault | None:
    """The Fault in a response body or batch item, or None when it has none."""
    envelope = _get(payload, "Fault")
    if not isinstance(envelope, dict):
        return None
    raw_errors = _get(envelope, "Error") or []
    errors = [
        FaultError(
            code=str(_get(raw, "code") or ""),
            message=str(_get(raw, "Message") or ""),
            detail=str(_get(raw, "Detail") or ""),
            element=str(_get(raw, "element") or ""),
        )
        for raw in raw_errors
        if isinstance(raw, dict)
    ]
    return Fault(type=str(_get(envelope, "type") or ""), errors=errors, status=status)


class QuickBooksError(Exception):
    """A request QuickBooks refused; the message is safe to show (it never holds a token)."""

    def __init__(self, message: str, fault: Fault | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.fault = fault
        self.status = status

    @classmethod
    def from_response(cls, status: int, payload: Any) -> QuickBooksError:
        fault = parse_fault(payload, status)
        if fault is None:
            return cls(f"QuickBooks answered HTTP {status} without a Fault envelope", None, status)
        return cls(fault.describe(), fault, status)

    def has(self, code: str) -> bool:
        return self.fault is not None and self.fault.has(code)


class QuickBooksAuthError(QuickBooksError):
    """The OAuth2 token endpoint refused the client or the refresh token."""


class QuickBooksRevoked(QuickBooksAuthError, AuthenticationFailed):
    """The refusal is final (`invalid_grant`: revoked or expired): the company must be reconnected."""
