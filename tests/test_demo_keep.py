"""`pairsync demo`: what changed is shown record by record, and a kept folder can be used (issues 18.14, 18.17)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from engine.plugins import ALLOW_LIST_ENV
from tests.fixtures.registries import BUILTIN_ALLOW_LIST


def _pairsync(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from engine.cli import main; main()", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_demo_shows_what_changed_and_keeps_a_usable_folder(tmp_path: Path) -> None:
    env = {**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST, "COLUMNS": "80"}
    env = {k: v for k, v in env.items() if not k.startswith("PAIRSYNC_DEMO_")}
    kept = tmp_path / "kept"
    demo = _pairsync("demo", "--keep", str(kept), env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    assert out.count("what stripe-to-google changed") == 2  # steps 2 and 4, record by record
    assert "Katherine Johnson →" in out and "Katherine Goble Johnson" in out
    assert demo.stderr.count("direction defaults to two-way") == 1
    assert max(len(line) for line in out.splitlines() if line[:1] in "┏┃┡│├└") <= 80  # tables fit 80 columns

    referenced = set(re.findall(r"\$\{(PAIRSYNC_DEMO_\w+)\}", (kept / "pairsync.yaml").read_text()))
    values = dict(line.split("=", 1) for line in (kept / ".env").read_text().splitlines())
    assert referenced and set(values) == referenced
    assert all(value not in out + demo.stderr for value in values.values())  # written to .env, never printed
    status = _pairsync("status", str(kept / "pairsync.yaml"), "--json", env={**env, **values}, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "set -a; . " in out and "--stay" in out
