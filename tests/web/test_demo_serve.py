"""`pairsync demo --serve` leaves the demo's service running with a dashboard that has something on every screen."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import PAIRSYNC, wait_for


@pytest.mark.slow
def test_demo_serve_leaves_the_dashboard_running(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    process = subprocess.Popen(
        [PAIRSYNC, "demo", "--serve", "--no-open", "--port", "0", "--keep", str(tmp_path / "demo")],
        stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "160"},
    )

    def announced() -> str | None:
        if process.poll() is not None:
            pytest.fail(f"pairsync demo --serve exited early:\n{log.read_text()}")
        found = re.search(r"the dashboard: (http://127\.0\.0\.1:\d+)/", log.read_text())
        return found.group(1) if found else None

    base = str(wait_for(announced, timeout=180, every=0.2))

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"pairsync demo --serve exited early:\n{log.read_text()}")
        try:
            return httpx.get(base + "/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout=120, every=0.2)
        assert "stripe-to-google" in httpx.get(base + "/").text
        review = httpx.get(base + "/ui/connections/stripe-to-google/review").text
        assert "Deletions waiting for approval (1)" in review and "Use the lost value" in review
        assert f"the dashboard: {base}/" in log.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
