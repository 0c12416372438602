"""Bad input gets a clear answer, never a traceback, a hang or gigabytes of memory.

Each case was found by trying to break pairsync: a YAML alias bomb and 20,000
nested brackets in the config; a signed webhook whose JSON is a list or deeply
nested; clients that hang up or stall mid-upload; a state database that is
damaged, read-only or full.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from connectors.stripe.sandbox import StripeSandbox
from engine.config import ConfigError, load_config
from engine.sandbox import SandboxServer
from engine.state.problems import StateUnusable
from engine.state.store import StateStore
from tests.service.conftest import FAST, RunningService, memory_account, wait_for, write_config
from tests.service.test_webhooks import stripe_signed

PAIRSYNC = str(Path(sys.executable).parent / "pairsync")
GOOD = """accounts:
  a: {connector: memory, settings: {store: a}}
  b: {connector: memory, settings: {store: b}}
connections:
  - {name: ab, left: a, right: b}
"""


def alias_bomb(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return GOOD + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (alias_bomb(), 11, "alias bomb"),  # l5: the first level past 100,000 values
        (GOOD + "deep: " + "[" * 20_000 + "]" * 20_000 + "\n", 6, "nested more than 64 levels"),
        (GOOD + "deep: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", 6, "nested more than 64 levels"),
    ],
    ids=["alias-bomb", "deep-lists", "deep-mappings"],
)
def test_a_config_too_large_to_expand_names_its_file_and_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    path = tmp_path / "pairsync.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    [problem] = raised.value.problems
    assert (problem.file, problem.line) == (str(path), line)
    assert says in problem.message


def test_validate_of_an_alias_bomb_is_one_message_and_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "pairsync.yaml"
    path.write_text(alias_bomb())
    done = subprocess.run([PAIRSYNC, "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{path}:11" in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_a_config_with_a_few_shared_aliases_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "pairsync.yaml"
    path.write_text(
        "defaults: &settings {store: a}\naccounts:\n  a: {connector: memory, settings: *settings}\n"
        "  b: {connector: memory, settings: {store: b}}\nconnections:\n  - {name: ab, left: a, right: b}\n"
    )
    with pytest.raises(ConfigError) as raised:  # `defaults` is not a config key, but the aliases were fine
        load_config(path)
    assert "defaults" in str(raised.value.problems[0])


# webhooks ----------------------------------------------------------------------------------------------------


@pytest.fixture
def stripe_service(tmp_path: Path) -> Any:
    sandbox = StripeSandbox()
    with SandboxServer(sandbox) as server:
        account = {"connector": "stripe", "settings": server.settings()}
        config = write_config(
            tmp_path / "pairsync.yaml",
            {"stripe": account, "crm": memory_account("bad-input-crm")},
            [{"name": "billing", "left": "stripe", "right": "crm", "direction": "left-to-right"}],
        )
        with RunningService(config, replace(FAST, body_timeout=0.5)) as running:
            yield running, sandbox.webhook_secret


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[1, 2, 3]", 400),
        (b'"text"', 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b'{"type": "customer.updated", "data": [1]}', 202),  # an event object that names no customer
    ],
    ids=["list", "string", "deeply-nested", "data-not-an-object"],
)
def test_a_signed_webhook_that_is_not_an_event_object_is_refused(stripe_service: Any, body: bytes, status: int) -> None:
    service, secret = stripe_service
    answer = service.http.post("/webhooks/stripe", content=body, headers=stripe_signed(body, secret))
    assert answer.status_code == status, answer.text
    assert answer.json().get("records", []) == []


def raw_upload(port: int, sent: bytes, declared: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port))
    head = f"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode()
    conn.sendall(head + sent)
    return conn


def test_clients_hanging_up_mid_upload_log_one_line_each(stripe_service: Any, caplog: Any) -> None:
    service, _secret = stripe_service
    caplog.set_level(logging.INFO)
    for _ in range(20):
        raw_upload(service.port, b'{"id": "evt_', 10_000).close()
    wait_for(lambda: sum("hung up" in r.getMessage() for r in caplog.records) == 20)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any(r.exc_info for r in caplog.records), "no traceback"


def test_a_stalled_upload_is_answered_408_after_the_body_read_timeout(stripe_service: Any) -> None:
    service, _secret = stripe_service
    conn = raw_upload(service.port, b'{"id": "evt_', 10_000)
    conn.settimeout(30)
    answer = conn.recv(4096).decode()
    conn.close()
    assert answer.startswith("HTTP/1.1 408"), answer


# the state database -------------------------------------------------------------------------------------------


def run_config(tmp_path: Path, state: str | None = None) -> Path:
    path = tmp_path / "pairsync.yaml"
    path.write_text(GOOD + (f"state: {json.dumps(state)}\n" if state else ""))
    return path


def pairsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PAIRSYNC, *args], capture_output=True, text=True, timeout=120)


def assert_clear(done: subprocess.CompletedProcess[str], file: Path, why: str) -> None:
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert str(file) in said and why in said and "To fix it" in said, said
    for raw in ("Traceback", "OperationalError", "DatabaseError", "SELECT", "INSERT", "UPDATE"):
        assert raw not in said, said


def test_a_damaged_state_file_is_named_and_left_as_it_is(tmp_path: Path) -> None:
    config = run_config(tmp_path)
    state = tmp_path / ".pairsync" / "state.db"
    state.parent.mkdir()
    state.write_bytes(b"this is not a database " * 200)
    before = state.read_bytes()
    assert_clear(pairsync("run", str(config)), state, "damaged")
    assert state.read_bytes() == before


def test_a_read_only_state_file_is_named_and_left_as_it_is(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    StateStore(f"sqlite:///{state}").close()
    before = state.read_bytes()
    config = run_config(tmp_path, f"sqlite:///file:{state}?mode=ro&uri=true")
    assert_clear(pairsync("run", str(config)), state, "cannot be written")
    assert state.read_bytes() == before


def test_a_full_state_disk_says_so(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")

    def no_room(dbapi: sqlite3.Connection, _record: Any) -> None:
        pages = dbapi.execute("PRAGMA page_count").fetchone()[0]
        dbapi.execute(f"PRAGMA max_page_count = {pages}")  # the database may not grow: SQLite's "disk full"

    store.engine.dispose()
    event.listen(store.engine, "connect", no_room)
    run_id = store.start_run("ab", "cli")
    with pytest.raises(StateUnusable, match="disk is full") as raised:
        store.add_events(run_id, [{"side": "left", "record_id": str(i), "kind": "x", "detail": {"pad": "x" * 4000}}
                                  for i in range(200)])
    assert str(tmp_path / "state.db") in str(raised.value) and "INSERT" not in str(raised.value)
