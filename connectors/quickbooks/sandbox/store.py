"""The sandbox's company data: customers with SyncTokens, unique names, CDC and request ids.

Times follow the sandbox clock (`now()`, shiftable with `clock_offset`) and
are written like QuickBooks writes them: seconds, with the company's offset.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.quickbooks.sandbox.faults import ApiFault, duplicate_name, invalid_property, not_found, stale
from connectors.quickbooks.sandbox.schema import DELIVERY_METHODS, MAX_LENGTHS, READ_ONLY, WRITABLE

COMPANY_TZ = timezone(timedelta(hours=-8))
CDC_CAP = 1000
CDC_LOOKBACK = timedelta(days=30)
HOME_CURRENCY = {"value": "USD", "name": "United States Dollar"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def lookup(customer: Mapping[str, Any], path: str) -> Any:
    value: Any = customer
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class Store:
    """Thread-safe: uvicorn serves from its own thread while tests edit from theirs."""

    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.other_names: set[str] = set()  # vendor and employee names that also claim a DisplayName
        self.request_ids: dict[str, tuple[int, Any]] = {}
        self.names: dict[str, str] = {}  # folded DisplayName -> customer id
        self.before_write: list[Callable[[], None]] = []  # edits a user makes just before the next writes
        self.fail_emails: set[str] = set()  # the sandbox knob: API writes carrying one of these are refused
        self.clock_offset = timedelta()
        self.lock = threading.RLock()
        self._next_id = 1

    def now(self) -> datetime:
        return datetime.now(COMPANY_TZ) + self.clock_offset

    def _stamp(self, moment: datetime | None = None) -> str:
        return (moment or self.now()).isoformat(timespec="seconds")

    def create(self, payload: Mapping[str, Any], when: datetime | None = None) -> dict[str, Any]:
        with self.lock:
            body = _clean(payload, creating=True)
            _validate(body)
            _drop_empty(body)
            if not body.get("DisplayName"):
                body["DisplayName"] = _derived_name(body)
            self._check_unique(body["DisplayName"], None)
            record_id = str(self._next_id)
            self._next_id += 1
            stamp = self._stamp(when)
            customer = {"domain": "QBO", "sparse": False, "Active": True, "Job": False, "BillWithParent": False,
                        "Balance": 0, "PreferredDeliveryMethod": "Print", "CurrencyRef": dict(HOME_CURRENCY), **body,
                        "Id": record_id, "SyncToken": "0", "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp}}
            self._compute(customer)
            self.customers[record_id] = customer
            self.names[customer["DisplayName"].casefold()] = record_id
            return copy.deepcopy(customer)

    def update(self, payload: Mapping[str, Any], check_token: bool = True) -> dict[str, Any]:
        """A sparse update (or a full one, replacing every writable field) with SyncToken checking."""
        with self.lock:
            record_id = str(payload.get("Id") or "")
            current = self.customers.get(record_id)
            if current is None:
                raise not_found(record_id)
            if check_token and "SyncToken" not in payload:
                raise ApiFault("2020", "Required param missing, need to supply the required value for the API",
                               "Required parameter SyncToken is missing in the request", "SyncToken")
            if check_token and str(payload["SyncToken"]) != current["SyncToken"]:
                raise stale(record_id)
            body = _clean(payload, creating=False)
            _validate(body)
            merged = copy.deepcopy(current) if payload.get("sparse") or not check_token else _bare(current)
            for key, value in body.items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key].update(value)
                else:
                    merged[key] = value
            _drop_empty(merged)
            if not merged.get("DisplayName"):
                merged["DisplayName"] = _derived_name(merged)
            self._check_unique(merged["DisplayName"], record_id)
            self._compute(merged)
            merged["SyncToken"] = str(int(current["SyncToken"]) + 1)
            merged["MetaData"] = {**current["MetaData"], "LastUpdatedTime": self._stamp()}
            merged["sparse"] = False
            self.names.pop(str(current["DisplayName"]).casefold(), None)
            self.names[merged["DisplayName"].casefold()] = record_id
            self.customers[record_id] = merged
            return copy.deepcopy(merged)

    def _compute(self, customer: dict[str, Any]) -> None:
        """The read-only properties QuickBooks derives: hierarchy, names and balances."""
        parent_id = lookup(customer, "ParentRef.value")
        parent = self.customers.get(str(parent_id)) if parent_id is not None else None
        if parent_id is not None and (parent is None or str(parent_id) == customer.get("Id")):
            raise ApiFault("2500", "Invalid Reference Id",
                           f"Invalid Reference Id : Customer ParentRef {parent_id} does not exist", "ParentRef")
        if parent is not None:
            customer["Job"] = True
            customer["Level"] = int(parent.get("Level", 0)) + 1
            customer["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{customer['DisplayName']}"
        else:
            customer.pop("Level", None)
            customer["FullyQualifiedName"] = customer["DisplayName"]
        customer.setdefault("PrintOnCheckName", customer.get("CompanyName") or customer["DisplayName"])
        customer["BalanceWithJobs"] = customer.get("Balance", 0)
        customer["IsProject"] = False

    def interleave(self) -> None:
        """Run the next queued outside edit: a user saving between the client's read and its write."""
        with self.lock:
            edit = self.before_write.pop(0) if self.before_write else None
        if edit is not None:
            edit()

    def get(self, record_id: str) -> dict[str, Any]:
        with self.lock:
            if record_id not in self.customers:
                raise not_found(record_id)
            return copy.deepcopy(self.customers[record_id])

    def _check_unique(self, name: str, own_id: str | None) -> None:
        folded = name.casefold()
        if any(other.casefold() == folded for other in self.other_names):
            raise duplicate_name(name)
        holder = self.names.get(folded)
        if holder is not None and holder != own_id:
            raise duplicate_name(name)

    def changed_since(self, since: datetime) -> list[dict[str, Any]]:
        """CDC: customers changed at or after `since`, oldest change first, at most CDC_CAP."""
        if since < self.now() - CDC_LOOKBACK:
            raise ApiFault("2010", "Request has invalid or unsupported property",
                           "changedSince must be within the last 30 days", "changedSince")
        with self.lock:
            changed = [c for c in self.customers.values() if _time(c) >= since]
        changed.sort(key=lambda c: (_time(c), int(c["Id"])))
        return copy.deepcopy(changed[:CDC_CAP])

    def remember(self, request_id: str | None, status: int, body: Any) -> None:
        if request_id:
            with self.lock:
                self.request_ids.setdefault(request_id, (status, body))

    def recall(self, request_id: str | None) -> tuple[int, Any] | None:
        with self.lock:
            return self.request_ids.get(request_id) if request_id else None


def _time(customer: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(customer["MetaData"]["LastUpdatedTime"])


def _clean(payload: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    """The writable properties of a request body; read-only ones are ignored, unknown ones refused.

    The opening `Balance` is writable on create only; afterwards QuickBooks computes it.
    """
    body: dict[str, Any] = {}
    for key, value in payload.items():
        if key in READ_ONLY:
            continue
        kind = WRITABLE.get(key)
        if kind is None:
            raise invalid_property(key)
        if key == "Balance" and not creating:
            continue
        body[key] = _typed(key, kind, value)
    return body


def _typed(key: str, kind: Any, value: Any) -> Any:
    """A property value checked against its documented type (nested objects: their documented keys)."""
    if value is None or value == "":
        return value
    if isinstance(kind, tuple):
        if not isinstance(value, Mapping):
            raise ApiFault("2010", "Request has invalid or unsupported property", f"{key} must be an object", key)
        for inner in value:
            if inner not in kind:
                raise invalid_property(f"{key}.{inner}")
        return {k: copy.deepcopy(v) for k, v in value.items() if v is not None}
    wrong = {
        str: not isinstance(value, str),
        bool: not isinstance(value, bool),
        float: isinstance(value, bool) or not isinstance(value, int | float),
        "date": not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)),
    }[kind]
    if wrong:
        raise ApiFault("2010", "Request has invalid or unsupported property",
                       f"Property {key} has an invalid value: {value!r}", key)
    if key == "PreferredDeliveryMethod" and value not in DELIVERY_METHODS:
        raise ApiFault("2010", "Request has invalid or unsupported property",
                       f"PreferredDeliveryMethod must be one of {', '.join(DELIVERY_METHODS)}", key)
    return value


def _bare(current: Mapping[str, Any]) -> dict[str, Any]:
    """What a full (non-sparse) update starts from: only the fields QuickBooks keeps itself."""
    kept = ("Id", "domain", "Balance", "MetaData", "CurrencyRef")
    return {k: copy.deepcopy(v) for k, v in current.items() if k in kept}


def _drop_empty(customer: dict[str, Any]) -> None:
    for key in list(customer):
        value = customer[key]
        if isinstance(value, dict):
            for inner in [k for k, v in value.items() if v in ("", None)]:
                del value[inner]
            if not value and key != "MetaData":
                del customer[key]
        elif value in ("", None):
            del customer[key]


def _validate(body: Mapping[str, Any]) -> None:
    for path, limit in MAX_LENGTHS.items():
        value = lookup(body, path)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ApiFault("2010", "Request has invalid or unsupported property",
                           f"Property {path} must be a string", path)
        if len(value) > limit:
            raise ApiFault("2050", "String length is either shorter or longer than supported by specification",
                           f"String length specified does not match the supported length. Min:0 Max:{limit} "
                           f"supported. Supplied length:{len(value)}", path)
    email = lookup(body, "PrimaryEmailAddr.Address")
    if email and not _EMAIL.match(email):
        raise ApiFault("2170", "Invalid Email Address format",
                       f"Email Address does not conform to the syntax rules of RFC 822: {email!r}",
                       "PrimaryEmailAddr.Address")


def _derived_name(body: Mapping[str, Any]) -> str:
    """QuickBooks builds a missing DisplayName from the name parts; without any, it refuses."""
    name = " ".join(str(body[k]) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix") if body.get(k))
    if not name:
        raise ApiFault("2020", "Required param missing, need to supply the required value for the API",
                       "Required parameter DisplayName or one of Title, GivenName, MiddleName, FamilyName, Suffix "
                       "is missing",
                       "DisplayName")
    return name
