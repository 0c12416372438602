"""`pairsync demo`, the README's first command, and `pairsync sandbox NAME` with its flags.

The demo runs as a user runs it: from an editable install, and (slow) from
a wheel installed into a fresh environment, which only works if the wheel
ships the package data (mappings, the demo story, migrations).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest
import yaml

from engine.state.store import StateStore

ROOT = Path(__file__).resolve().parents[1]
PAIRSYNC = str(Path(sys.executable).parent / "pairsync")


def check_demo(output: str, kept: Path) -> None:
    """The demo told its story and its two runs left the state a second sync would find nothing in."""
    for step in ("1. the plan", "2. the first two-way sync", "4. the next sync", "5. a sync right after a sync"):
        assert step in output, output
    [config] = kept.glob("*.yaml")
    store = StateStore(f"sqlite:///{kept / '.pairsync' / 'state.db'}")
    try:
        runs = store.runs(_connection(config), limit=10)
    finally:
        store.close()
    assert [run["status"] for run in runs] == ["ok", "ok", "ok"], runs
    first, _second, last = sorted(runs, key=lambda run: run["id"])
    assert sum(first["summary"]["created"].values()) > 0, "the first sync created the people missing on each side"
    assert first["summary"]["conflicts"] >= 1, "the seeded conflict was resolved"
    for kind in ("created", "updated", "tagged"):
        assert last["summary"][kind] == {"left": 0, "right": 0}, (kind, last["summary"])


def _connection(config: Path) -> str:
    return str(yaml.safe_load(config.read_text())["connections"][0]["name"])


def test_the_demo_runs_two_syncs_and_a_third_that_writes_nothing(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    done = subprocess.run(
        [PAIRSYNC, "demo", "--keep", str(kept)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    check_demo(done.stdout, kept)
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_demo_runs_from_a_wheel_installed_elsewhere(tmp_path: Path) -> None:
    """A non-editable install: only what the wheel ships is there (the dependencies come from this venv)."""
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = wheels.glob("pairsync-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = subprocess.run(
        [str(python), "-c", "import engine; print(engine.__file__)"], capture_output=True, text=True, cwd=tmp_path
    )
    assert where.stdout.startswith(site), f"engine must come from the wheel, not the checkout: {where.stdout}"
    kept = tmp_path / "demo"
    done = subprocess.run(
        [str(venv / "bin" / "pairsync"), "demo", "--keep", str(kept)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    check_demo(done.stdout, kept)


def test_pairsync_sandbox_serves_with_its_flags(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [PAIRSYNC, "sandbox", "stripe", "--port", "0", "--seed", "7", "--latency-ms", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())  # the first line: ready-to-use settings
        assert first["connector"] == "stripe" and first["settings"]["base_url"] == first["base_url"]
        assert not first["base_url"].endswith(":0"), "port 0: the OS chose a free port and the line names it"
        headers = {"Authorization": f"Bearer {first['settings']['api_key']}"}
        began = time.monotonic()
        listed = httpx.get(f"{first['base_url']}/v1/customers", params={"limit": 100}, headers=headers, timeout=30)
        took = time.monotonic() - began
        assert listed.status_code == 200 and len(listed.json()["data"]) == 7, "--seed 7: seven customers"
        assert took >= 0.3, "--latency-ms 300 delays every answer at least that long"  # a lower bound: speed-proof
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_pairsync_sandbox_rate_limit_refuses_past_its_rate(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [PAIRSYNC, "sandbox", "google_contacts", "--rate-limit", "0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        answer = httpx.get(f"{first['base_url']}/v1/people/me/connections", timeout=30)
        assert answer.status_code == 429, "the bucket starts empty: the first request is already over the rate"
        assert answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert float(answer.headers["Retry-After"]) > 1, "and says when to come back"
    finally:
        process.terminate()
        process.communicate(timeout=30)
