"""The Customer entity as Intuit's API reference documents it: which properties a request may write,
which QuickBooks computes itself (sent back, ignored on the way in), and their shapes.

Property names are case-sensitive in JSON bodies, as at QuickBooks; in queries they are matched without
regard to case (`canonical`), as QuickBooks' query service matches them.
"""

from __future__ import annotations

from typing import Any

ADDRESS = ("Id", "Line1", "Line2", "Line3", "Line4", "Line5", "City", "Country", "CountrySubDivisionCode",
           "PostalCode", "Lat", "Long", "Note")
PHONE = ("FreeFormNumber",)
EMAIL = ("Address",)
WEB = ("URI",)
REF = ("value", "name", "type")

# Writable properties and their kind: str, bool, number, date, or the sub-keys of a nested object.
WRITABLE: dict[str, Any] = {
    "DisplayName": str, "Title": str, "GivenName": str, "MiddleName": str, "FamilyName": str, "Suffix": str,
    "CompanyName": str, "PrintOnCheckName": str, "Notes": str, "PreferredDeliveryMethod": str, "ResaleNum": str,
    "PrimaryTaxIdentifier": str, "SecondaryTaxIdentifier": str, "BusinessNumber": str, "GSTIN": str,
    "GSTRegistrationType": str, "TaxExemptionReasonId": str, "Source": str, "ClientEntityId": str,
    "Active": bool, "Job": bool, "BillWithParent": bool, "Taxable": bool,
    "Balance": float,  # the opening balance, on create only; later QuickBooks computes it
    "OpenBalanceDate": "date",
    "PrimaryEmailAddr": EMAIL, "PrimaryPhone": PHONE, "AlternatePhone": PHONE, "Mobile": PHONE, "Fax": PHONE,
    "WebAddr": WEB, "BillAddr": ADDRESS, "ShipAddr": ADDRESS,
    "ParentRef": REF, "SalesTermRef": REF, "PaymentMethodRef": REF, "DefaultTaxCodeRef": REF, "CurrencyRef": REF,
    "ARAccountRef": REF, "CustomerTypeRef": REF,
}
# Computed by QuickBooks: accepted in a request body (clients echo what they read) and ignored.
READ_ONLY = frozenset({"Id", "SyncToken", "sparse", "domain", "MetaData", "FullyQualifiedName", "Level",
                       "IsProject", "BalanceWithJobs", "V4IDPseudonym", "status"})
MAX_LENGTHS = {
    "DisplayName": 500, "Title": 16, "GivenName": 100, "MiddleName": 100, "FamilyName": 100, "Suffix": 16,
    "CompanyName": 100, "PrintOnCheckName": 110, "Notes": 2000, "ResaleNum": 16, "BusinessNumber": 10,
    "GSTIN": 15, "PrimaryEmailAddr.Address": 100, "PrimaryPhone.FreeFormNumber": 30,
    "AlternatePhone.FreeFormNumber": 30, "Mobile.FreeFormNumber": 30, "Fax.FreeFormNumber": 30, "WebAddr.URI": 1000,
    **{f"{a}.{k}": n for a in ("BillAddr", "ShipAddr")
       for k, n in (("Line1", 500), ("Line2", 500), ("Line3", 500), ("Line4", 500), ("Line5", 500), ("City", 255),
                    ("CountrySubDivisionCode", 255), ("PostalCode", 30), ("Country", 255))},
}
DELIVERY_METHODS = ("Print", "Email", "None")


def _paths() -> dict[str, str]:
    paths = {name: name for name in [*WRITABLE, *READ_ONLY]}
    for name, kind in WRITABLE.items():
        if isinstance(kind, tuple):
            paths.update({f"{name}.{key}": f"{name}.{key}" for key in kind})
    paths.update({f"MetaData.{key}": f"MetaData.{key}" for key in ("CreateTime", "LastUpdatedTime")})
    return {path.casefold(): path for path in paths.values()}


_CANONICAL = _paths()


def canonical(path: str) -> str | None:
    """The documented spelling of a property path written in any letter case, or None for an unknown one."""
    return _CANONICAL.get(path.casefold())
