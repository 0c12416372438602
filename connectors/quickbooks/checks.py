"""`pairsync check` for QuickBooks Online: the refresh token, the accounting scope and company, CDC.

One query for a single customer proves the token, the `com.intuit.quickbooks.accounting`
scope and access to the company together; CDC is optional (without it every run lists).
"""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.quickbooks.api import QuickBooksApi
from connectors.quickbooks.errors import QuickBooksError, QuickBooksRevoked
from engine.connector import PermissionCheck
from engine.secrets import REDACTOR

RECONNECT = "run `pairsync connect <config> {account}` and choose the company"


async def run_checks(api: QuickBooksApi, account: str) -> list[PermissionCheck]:
    fix = RECONNECT.format(account=account)
    try:
        await api.query("select * from Customer maxresults 1")
    except QuickBooksRevoked as error:
        return [PermissionCheck("credentials", False, cost="nothing syncs", fix=fix, detail=_said(error))]
    except QuickBooksError as error:
        if error.status not in (401, 403):
            raise
        return [
            PermissionCheck("credentials", True),
            PermissionCheck("accounting scope and company", False, cost="nothing syncs", fix=fix, detail=_said(error)),
        ]
    checks = [PermissionCheck("credentials", True), PermissionCheck("accounting scope and company", True)]
    try:
        await api.cdc(datetime.now(UTC).isoformat(timespec="seconds"))
    except QuickBooksError as error:
        if error.status not in (403, 404, 501):
            raise
        checks.append(PermissionCheck("Change Data Capture", False, required=False,
                                      cost="every run lists all customers", detail=_said(error)))
    else:
        checks.append(PermissionCheck("Change Data Capture", True, required=False))
    return checks


def _said(error: Exception) -> str:
    return REDACTOR.redact(str(error))
