"""One health badge per connection, computed in one place from what the state store and the service know.

The badge is never green while the last run failed: only a last run that ended
`ok` gives "ok". An account status (such as "needs_reconnect", kept by the
account's own part of the state store) outranks the runs, because no run can
succeed until someone reconnects.
"""

from __future__ import annotations

from dataclasses import dataclass

FAILED_RUNS = frozenset({"error", "failed", "blocked", "interrupted", "busy"})
RECONNECT = frozenset({"needs_reconnect", "needs reconnect", "reconnect"})


@dataclass(frozen=True)
class Health:
    state: str
    """ok, failing, needs_reconnect, disabled, running, stalled or new (no run yet)."""
    label: str
    """The words shown on the badge."""
    why: str
    """One sentence for the badge's title and screen readers."""

    @property
    def good(self) -> bool:
        return self.state == "ok"


def health(
    last_status: str | None,
    enabled: bool,
    running: bool,
    account_status: str | None = None,
    run_alive: bool = False,
) -> Health:
    """The badge of a connection.

    `last_status` is the status of its newest run (None before the first), `running` whether this service
    is running it now, `run_alive` whether any process holds its run lock, `account_status` the status of an
    account it uses when that account needs attention.
    """
    if not enabled:
        return Health("disabled", "disabled", "disabled: no scheduled or webhook runs until enabled")
    if account_status is not None and account_status.lower() in RECONNECT:
        return Health("needs_reconnect", "needs reconnect", "an account lost its access: reconnect it")
    if running or (last_status == "running" and run_alive):
        return Health("running", "running", "a run is in progress")
    if last_status == "running":
        return Health("stalled", "stalled", "the last run stopped without finishing; the next run resumes it")
    if last_status is None:
        return Health("new", "not run yet", "no run yet")
    if last_status in FAILED_RUNS or last_status != "ok":
        return Health("failing", "failing", f"the last run ended {last_status}")
    return Health("ok", "ok", "the last run succeeded")
