"""Interrupted runs: Ctrl-C or SIGTERM closes the run's history row, and a run left `running` by a dead
process is closed by whichever command opens the state next (issue 18.3)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from engine.cli.interrupt import Interrupted, interruptible
from engine.plugins import ALLOW_LIST_ENV
from engine.state.store import StateStore, process_holder
from tests.fixtures.registries import BUILTIN_ALLOW_LIST


@pytest.fixture
def silent_api() -> Iterator[str]:
    """An address that accepts connections and never answers: a read from it waits until interrupted."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def _config(folder: Path, base_url: str) -> Path:
    path = folder / "pairsync.yaml"
    path.write_text(
        "accounts:\n"
        "  billing:\n    connector: stripe\n"
        f"    settings: {{api_key: '${{STRIPE_KEY}}', base_url: '{base_url}', retry_attempts: 1}}\n"
        "  book:\n    connector: memory\n"
        f"    settings: {{store: book, file: {folder / 'book.json'}}}\n"
        "connections:\n  - {name: billing-book, left: billing, right: book, direction: left-to-right}\n"
    )
    return path


def _until(check: object, what: str, bound: float = 60.0) -> None:
    """Poll for a state the other process reaches; the bound only keeps a broken test from hanging."""
    deadline = time.monotonic() + bound
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never saw: {what}"
        time.sleep(0.05)


def _as_in_a_terminal() -> None:
    """The command starts with Ctrl-C's default disposition, as a terminal's foreground job does. A test suite
    started as a background job of a script (`cmd &`) ignores SIGINT, and ignored signals are inherited: the
    command would never see the signal the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"])
def test_a_signal_during_run_prints_interrupted_and_closes_the_run(
    tmp_path: Path, silent_api: str, signum: int, code: int
) -> None:
    config = _config(tmp_path, silent_api)
    env = {**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST, "STRIPE_KEY": "sk_test_interrupted"}
    command = [sys.executable, "-c", "from engine.cli import main; main()", "run", str(config)]
    (tmp_path / ".pairsync").mkdir()
    store = StateStore(f"sqlite:///{tmp_path / '.pairsync' / 'state.db'}")  # migrated before the run opens it
    pipe = subprocess.PIPE
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=pipe, stderr=pipe, text=True, preexec_fn=_as_in_a_terminal
    )
    try:
        _until(lambda: [r for r in store.runs() if r["status"] == "running"], "the run started")
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err + out
    assert [(r["status"], r["finished_at"] is not None) for r in store.runs()] == [("interrupted", True)]
    store.close()


def _abandoned_run(store: StateStore, holder: str) -> int:
    """A run row `running` under a run lock, as a process leaves them when it is killed mid-run."""
    assert store.acquire("run:c", holder)
    return store.start_run("c")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_opening_the_state_closes_runs_left_running_by_a_dead_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    run_id = _abandoned_run(store, f"{socket.gethostname()}:{_dead_pid()}:deadbeef")
    store.close()
    reopened = StateStore(url)
    assert reopened.closed_on_open == [run_id]
    assert reopened.run(run_id)["status"] == "interrupted"  # type: ignore[index]
    reopened.close()


@pytest.mark.parametrize(
    "holder",
    [process_holder(), "another-host:1:cafe"],
    ids=["a live process here", "a process on another host"],
)
def test_a_run_of_a_live_process_is_left_running(tmp_path: Path, holder: str) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    run_id = _abandoned_run(store, holder)
    reopened = StateStore(url)
    assert reopened.closed_on_open == []
    assert reopened.run(run_id)["status"] == "running"  # type: ignore[index]
    store.close()
    reopened.close()


def test_a_running_row_without_its_lock_is_closed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    run_id = store.start_run("c")
    assert StateStore(url).closed_on_open == [run_id]
    store.close()


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (KeyboardInterrupt(), 130),  # Ctrl-C, as asyncio.run reports it when the run's task was cancelled once
        (asyncio.CancelledError(), 130),  # Ctrl-C when a library inside the run had cancelled the task too
        (Interrupted(signal.SIGTERM), 143),
    ],
    ids=["KeyboardInterrupt", "CancelledError", "SIGTERM"],
)
def test_every_form_of_an_interruption_ends_the_command_as_interrupted(
    raised: BaseException, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as ended, interruptible():
        raise raised
    assert ended.value.exit_code == code
    assert "interrupted" in capsys.readouterr().err
