"""The health badge: one function, never green while the last run failed."""

from __future__ import annotations

import pytest

from engine.web.health import health


@pytest.mark.parametrize(
    ("last", "enabled", "running", "account", "alive", "state"),
    [
        ("ok", True, False, None, False, "ok"),
        (None, True, False, None, False, "new"),
        ("failed", True, False, None, False, "failing"),
        ("error", True, False, None, False, "failing"),
        ("blocked", True, False, None, False, "failing"),
        ("interrupted", True, False, None, False, "failing"),
        ("failed", True, True, None, False, "running"),  # running again after a failure: not green either
        ("running", True, False, None, True, "running"),  # another process holds the run
        ("running", True, False, None, False, "stalled"),  # a run row left running by a dead process
        ("ok", False, False, None, False, "disabled"),
        ("ok", True, False, "needs_reconnect", False, "needs_reconnect"),
        ("ok", True, True, "needs_reconnect", False, "needs_reconnect"),
        ("ok", False, False, "needs_reconnect", False, "disabled"),
        ("ok", True, False, "connected", False, "ok"),
    ],
)
def test_health(last: str | None, enabled: bool, running: bool, account: str | None, alive: bool, state: str) -> None:
    badge = health(last, enabled, running, account, alive)
    assert badge.state == state
    assert badge.good == (state == "ok")


@pytest.mark.parametrize("last", ["failed", "error", "blocked", "interrupted", "busy", "running", "anything-new"])
def test_only_an_ok_run_is_green(last: str) -> None:
    assert not health(last, True, False).good
