"""The runnable examples of docs/sandboxes.md run as written, and print what their comments say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).parents[2] / "docs" / "sandboxes.md"
BLOCK = re.compile(r"```python\n(# Runnable.*?)```", re.DOTALL)


def examples() -> list[str]:
    return BLOCK.findall(DOC.read_text())


def test_every_app_has_a_runnable_example() -> None:
    assert len(examples()) == 3


@pytest.mark.parametrize("code", examples(), ids=["stripe", "quickbooks", "google_contacts"])
def test_example_runs_and_prints_what_it_promises(code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    # `pairsync` as the reader has it: the console script installed beside this interpreter.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    promised = re.findall(r"print\(.*\)  # (.+)", code)
    assert promised and all(line in done.stdout for line in promised), done.stdout


@pytest.mark.parametrize("name", ["stripe", "quickbooks", "google_contacts"])
def test_cli_sandbox_answers_unknown_paths_in_the_apps_json_shape(name: str) -> None:
    """Connecting as soon as the settings line is read (the CLI prints it once the port listens)."""
    process = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "sandbox", name],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = json.loads(process.stdout.readline())["base_url"]
        answer = httpx.get(f"{base_url}/no/such/path", headers={"Accept": "application/json"})
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert answer.status_code in (400, 401, 404) and answer.headers["content-type"].startswith("application/json")
