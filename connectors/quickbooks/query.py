"""Building QuickBooks query-language statements with every value escaped.

Strings are single-quoted; a quote or a backslash inside is escaped with a
backslash, so a hostile name can neither end the string early nor change
what the statement means.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_RESULTS = 1000


def quote(value: str) -> str:
    """A string literal for the query language."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def page(start_position: int, max_results: int = MAX_RESULTS) -> str:
    """One page of the full customer listing, in a stable order (STARTPOSITION is 1-based)."""
    if not 1 <= max_results <= MAX_RESULTS:
        raise ValueError(f"MAXRESULTS must be between 1 and {MAX_RESULTS}")
    return f"SELECT * FROM Customer ORDERBY Id STARTPOSITION {int(start_position)} MAXRESULTS {int(max_results)}"


def by_ids(ids: Iterable[str]) -> str:
    """Customers with these ids, active or not (updates need the SyncToken of either)."""
    quoted = ", ".join(quote(i) for i in ids)
    return f"SELECT * FROM Customer WHERE Id IN ({quoted}) AND Active IN (true, false) MAXRESULTS {MAX_RESULTS}"


def where_equals(field: str, value: str) -> str:
    """Active customers whose `field` equals `value` (field names come from our schema, never from input)."""
    if not field.replace(".", "").isalnum():
        raise ValueError(f"not a query field: {field!r}")
    return f"SELECT * FROM Customer WHERE {field} = {quote(value)} MAXRESULTS {MAX_RESULTS}"
