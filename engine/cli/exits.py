"""The exit codes of `pairsync`, in one place so the docs, the code and scripts agree.

0 success; 1 a run had failures, could not read a side, or was stopped by the breaker; 2 bad config or usage;
75 busy: another run of the connection is in progress, try again later (EX_TEMPFAIL of sysexits.h);
130 / 143 interrupted by Ctrl-C / SIGTERM (128 + the signal).
"""

from __future__ import annotations

from collections.abc import Iterable

OK = 0
FAILED = 1
USAGE = 2
BUSY = 75


def for_runs(statuses: Iterable[str]) -> int:
    """One code for the runs of one command: failures outrank busy, busy outranks success."""
    seen = set(statuses)
    if seen - {"ok", "busy", "planned"}:
        return FAILED
    return BUSY if "busy" in seen else OK
