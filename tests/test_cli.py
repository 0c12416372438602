"""`pairsync` end to end: each command in its own process, over two in-memory accounts kept in JSON files.

Exit codes: 0 success, 1 a run had failures, 2 bad config or usage. Nothing prints a traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.stripe.sandbox import StripeSandbox
from engine.plugins import ALLOW_LIST_ENV
from engine.sandbox import SandboxServer
from engine.testing.memory import MemoryStore
from tests.fixtures.registries import BUILTIN_ALLOW_LIST

SIDE_COUNTS = ("created", "updated", "tagged", "untagged", "requests")
SUMMARY_KEYS = {"connection", "status", "skipped", "failed", "conflicts", *SIDE_COUNTS}

# Runs the CLI after telling the book's store to reject writes of one email (MemoryStore.fail_ids),
# which lives in the process only: the same store the connector opens, so no connector code is replaced.
FAILING_CLI = """
import sys
from pathlib import Path
from engine.testing.memory import MemoryStore
store_key, file, email, *args = sys.argv[1:]
MemoryStore.named(store_key, Path(file)).fail_ids.add(email)
sys.argv = ["pairsync", *args]
from engine.cli import main
main()
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def one(self) -> Any:
        """The object of the only connection: `--json` always prints a list, one object per connection."""
        data = json.loads(self.out)
        assert isinstance(data, list) and len(data) == 1, data
        return data[0]


@dataclass
class Workspace:
    folder: Path
    env: dict[str, str]

    @property
    def config(self) -> str:
        return str(self.folder / "pairsync.yaml")

    def store(self, name: str) -> MemoryStore:
        return MemoryStore(self.folder / f"{name}.json")

    def pairsync(self, *args: str, script: str = "from engine.cli import main; main()", **env: str) -> Result:
        done = subprocess.run(
            [sys.executable, "-c", script, *args],
            cwd=self.folder,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return Result(done.returncode, done.stdout, done.stderr)


def memory_account(folder: Path, name: str, **settings: Any) -> str:
    extra = "".join(f", {key}: {json.dumps(value)}" for key, value in settings.items())
    return f"  {name}:\n    connector: memory\n    settings: {{store: {name}, file: {folder / name}.json{extra}}}\n"


def write_config(folder: Path, connections: str, **crm_settings: Any) -> None:
    accounts = memory_account(folder, "crm", **crm_settings) + memory_account(folder, "book")
    (folder / "pairsync.yaml").write_text(f"accounts:\n{accounts}connections:\n{connections}")


ONE_CONNECTION = "  - {name: crm-book, left: crm, right: book}\n"
TWO_CONNECTIONS = ONE_CONNECTION + "  - {name: book-crm, left: book, right: crm, enabled: true}\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    write_config(tmp_path, ONE_CONNECTION)
    crm = MemoryStore(tmp_path / "crm.json")
    crm.add({"email": "ada@example.com", "name": "Ada Lovelace", "company": "Engines"})
    crm.add({"email": "grace@example.com", "name": "Grace Hopper"})
    MemoryStore(tmp_path / "book.json").add({"email": "alan@example.com", "name": "Alan Turing"})
    return Workspace(tmp_path, {**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST, "COLUMNS": "200"})


def files(workspace: Workspace) -> dict[str, bytes]:
    return {name: (workspace.folder / f"{name}.json").read_bytes() for name in ("crm", "book")}


def test_connectors_lists_each_installed_connector(workspace: Workspace) -> None:
    text = workspace.pairsync("connectors")
    listed = workspace.pairsync("connectors", "--json")
    assert (text.code, listed.code) == (0, 0)
    rows = {row["name"]: row for row in listed.json["connectors"]}
    assert set(rows) == {"google_contacts", "mailchimp", "memory", "quickbooks", "stripe"}
    assert listed.json["failed_plugins"] == {}
    assert rows["stripe"]["source_of_truth"] and rows["stripe"]["plugin"] == "stripe"
    assert "email" in rows["memory"]["fields"]
    assert all(name in text.out for name in rows)


def test_validate_says_ok_and_prints_warnings(workspace: Workspace) -> None:
    (workspace.folder / "pairsync.yaml").write_text(
        "accounts:\n  billing: {connector: stripe, settings: {api_key: sk_test_abc}}\n  book: {connector: memory}\n"
        "connections:\n  - {name: billing-book, left: billing, right: book}\n"
    )
    result = workspace.pairsync("validate", "pairsync.yaml")
    assert (result.code, result.out.strip()) == (0, "pairsync.yaml: 2 accounts, 1 connection: ok")
    assert "warning: connection 'billing-book': direction defaults to two-way" in result.err
    assert "accounts.billing.settings.api_key: a secret written in the config file" in result.err
    assert "Set `direction: left-to-right` unless you mean it." in " ".join(result.err.split())


def test_validate_reports_problems_with_exit_2(workspace: Workspace) -> None:
    write_config(workspace.folder, "  - {name: crm-book, left: crm, right: bok}\n")
    result = workspace.pairsync("validate", "pairsync.yaml")
    assert (result.code, result.out) == (2, "")
    assert result.err.strip() == (
        "pairsync.yaml:9: connections[0].right: no account named 'bok'; did you mean `book`? (accounts: crm, book)"
    )


def test_schema_is_a_json_schema_of_the_config(workspace: Workspace) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="the schema check needs jsonschema (test extra)")
    import yaml

    result = workspace.pairsync("schema")
    assert result.code == 0
    jsonschema.Draft202012Validator.check_schema(result.json)
    jsonschema.validate(yaml.safe_load(Path(workspace.config).read_text()), result.json)
    assert "sync_rules" in result.json["$defs"]["Connection"]["properties"]


def test_plan_is_a_dry_run_that_writes_nothing(workspace: Workspace) -> None:
    before = files(workspace)
    result = workspace.pairsync("plan", "pairsync.yaml", "--json")
    assert result.code == 0
    assert files(workspace) == before
    summary = result.one
    assert set(summary) >= SUMMARY_KEYS
    assert all(set(summary[key]) == {"left", "right"} for key in SIDE_COUNTS)
    assert (summary["connection"], summary["status"]) == ("crm-book", "planned")
    assert (summary["created"], summary["updated"], summary["failed"]) == (
        {"left": 1, "right": 2},
        {"left": 0, "right": 0},
        0,
    )


def test_plan_as_a_table_lists_each_operation(workspace: Workspace) -> None:
    result = workspace.pairsync("plan", "pairsync.yaml")
    assert result.code == 0
    assert result.out.count("create") >= 3 and "ada@example.com" in result.out and "crm-book: planned" in result.out


def test_run_writes_and_a_second_run_plans_nothing(workspace: Workspace) -> None:
    first = workspace.pairsync("run", "pairsync.yaml", "--json")
    assert (first.code, first.one["status"], first.one["created"]) == (0, "ok", {"left": 1, "right": 2})
    assert {r.fields["email"] for r in workspace.store("book").records.values()} == {
        "alan@example.com",
        "ada@example.com",
        "grace@example.com",
    }
    again = workspace.pairsync("plan", "pairsync.yaml", "--json").one
    rerun = workspace.pairsync("run", "pairsync.yaml", "--json")
    nothing = {"left": 0, "right": 0}
    for summary in (again, rerun.one):
        assert [summary[key] for key in ("created", "updated", "tagged", "untagged")] == [nothing] * 4
    assert rerun.code == 0


def test_run_as_a_table_prints_the_summary(workspace: Workspace) -> None:
    result = workspace.pairsync("run", "pairsync.yaml")
    assert result.code == 0
    assert "crm-book: ok" in result.out and "created (done)" in result.out


def test_a_failing_record_exits_1_and_is_retried_next_run(workspace: Workspace) -> None:
    book = workspace.folder / "book.json"
    reject_grace = (f"book@{book}", str(book), "grace@example.com")
    failing = workspace.pairsync(*reject_grace, "run", "pairsync.yaml", "--json", script=FAILING_CLI)
    assert (failing.code, failing.one["status"], failing.one["failed"]) == (1, "failed", 1)
    assert failing.one["created"] == {"left": 1, "right": 1}  # the others are written all the same
    waiting = workspace.pairsync("status", "pairsync.yaml", "--json").one
    assert [(f["side"], f["error"]) for f in waiting["failures"]] == [
        ("left", "create on right failed: rejected by the memory store (injected failure)")
    ]
    still_failing = workspace.pairsync(*reject_grace, "run", "pairsync.yaml", script=FAILING_CLI)
    assert still_failing.code == 1
    assert "crm-book: " in still_failing.err and "(injected failure)" in still_failing.err
    retried = workspace.pairsync("run", "pairsync.yaml", "--json")
    assert (retried.code, retried.one["created"]["right"], retried.one["failed"]) == (0, 1, 0)
    assert workspace.pairsync("status", "pairsync.yaml", "--json").one["failures"] == []
    emails = [r.fields["email"] for r in workspace.store("book").records.values()]
    assert sorted(emails) == ["ada@example.com", "alan@example.com", "grace@example.com"]  # no duplicate


def test_status_reports_links_and_runs(workspace: Workspace) -> None:
    assert workspace.pairsync("status", "pairsync.yaml", "--json").one["runs"] == []
    workspace.pairsync("run", "pairsync.yaml")
    status = workspace.pairsync("status", "pairsync.yaml", "--json")
    table = workspace.pairsync("status", "pairsync.yaml")
    assert (status.code, table.code) == (0, 0)
    data = status.one
    assert (data["connection"], data["linked"], data["unlinked"], data["failures"]) == (
        "crm-book",
        3,
        {"left": 0, "right": 0},
        [],
    )
    assert [(run["status"], run["trigger"]) for run in data["runs"]] == [("ok", "cli")]
    assert "crm-book" in table.out and "ok" in table.out


def test_an_unknown_connection_exits_2_listing_the_connections(workspace: Workspace) -> None:
    write_config(workspace.folder, TWO_CONNECTIONS)
    for command in ("plan", "run"):
        result = workspace.pairsync(command, "pairsync.yaml", "--connection", "crm-bok")
        assert result.code == 2
        assert result.err.strip() == (
            "no connection named 'crm-bok' in pairsync.yaml (connections: crm-book, book-crm)"
        )


def test_json_is_always_a_list_of_connections(workspace: Workspace) -> None:
    write_config(workspace.folder, TWO_CONNECTIONS)
    planned = workspace.pairsync("plan", "pairsync.yaml", "--json")
    status = workspace.pairsync("status", "pairsync.yaml", "--json")
    only = workspace.pairsync("plan", "pairsync.yaml", "--json", "--connection", "book-crm")
    assert [s["connection"] for s in planned.json] == ["crm-book", "book-crm"]
    assert [s["connection"] for s in status.json] == ["crm-book", "book-crm"]
    assert [s["connection"] for s in only.json] == ["book-crm"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["plan", "pairsync.yaml", "--no-such-option"], 2),
        (["frobnicate"], 2),
        (["validate", "missing.yaml"], 2),
        (["sandbox", "no_such_connector"], 2),
    ],
)
def test_exit_codes_for_usage(workspace: Workspace, args: list[str], code: int) -> None:
    result = workspace.pairsync(*args)
    assert result.code == code, result.err


# --- Secrets never leave the process ----------------------------------------------------------------------------

SECRET = "sk_test_cli0secret0value0never0printed"
WEBHOOK_SECRET = "whsec_cli-webhook-secret-never-printed"


@pytest.fixture(scope="module")
def stripe() -> Iterator[SandboxServer]:
    sandbox = StripeSandbox(api_key=SECRET)
    sandbox.add_record({"email": "ada@example.com", "name": "Ada Lovelace"})
    sandbox.add_record({"email": "grace@example.com", "name": "Grace Hopper"})
    with SandboxServer(sandbox) as server:
        yield server


def stripe_workspace(tmp_path: Path, server: SandboxServer, key: str) -> Workspace:
    (tmp_path / "pairsync.yaml").write_text(
        "accounts:\n"
        "  billing:\n    connector: stripe\n"
        f"    settings: {{api_key: '${{STRIPE_KEY}}', webhook_secret: '${{STRIPE_WEBHOOK}}',"
        f" base_url: '{server.base_url}', requests_per_second: 500, retry_attempts: 1}}\n"
        + memory_account(tmp_path, "book")
        + "connections:\n  - {name: billing-book, left: billing, right: book, direction: left-to-right}\n"
    )
    env = {**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST, "STRIPE_KEY": key, "STRIPE_WEBHOOK": WEBHOOK_SECRET}
    return Workspace(tmp_path, env)


def every_output(workspace: Workspace) -> str:
    commands = [
        ["validate"],
        ["plan"],
        ["plan", "--json"],
        ["run"],
        ["run", "--json"],
        ["status"],
        ["status", "--json"],
    ]
    results = [workspace.pairsync(command[0], "pairsync.yaml", *command[1:]) for command in commands]
    return "".join(result.out + result.err for result in results)


def state_bytes(workspace: Workspace) -> bytes:
    return b"".join(path.read_bytes() for path in (workspace.folder / ".pairsync").iterdir())


def test_secrets_never_reach_output_or_the_state_store(tmp_path: Path, stripe: SandboxServer) -> None:
    workspace = stripe_workspace(tmp_path, stripe, SECRET)
    printed = every_output(workspace)
    assert "ada@example.com" in printed  # the commands did their work...
    for secret in (SECRET, WEBHOOK_SECRET):  # ...without showing a secret
        assert secret not in printed
        assert secret.encode() not in state_bytes(workspace)


def test_a_rejected_key_is_reported_without_showing_it(tmp_path: Path, stripe: SandboxServer) -> None:
    wrong = "sk_test_wrong0key0that0must0stay0hidden"
    workspace = stripe_workspace(tmp_path, stripe, wrong)
    result = workspace.pairsync("run", "pairsync.yaml", "--json")
    assert result.code == 1
    assert result.one["status"] != "ok"
    for text in (result.out + result.err, state_bytes(workspace).decode(errors="replace")):
        assert wrong not in text and WEBHOOK_SECRET not in text


def test_a_busy_connection_exits_75_not_1(workspace: Workspace) -> None:
    """Issue 18.5: busy had the code of a run with failures; a script must tell "try later" from "broken"."""
    from engine.state.store import StateStore, process_holder

    (workspace.folder / ".pairsync").mkdir()
    store = StateStore(f"sqlite:///{workspace.folder / '.pairsync' / 'state.db'}")
    assert store.acquire("run:crm-book", process_holder())  # this live test process holds the connection
    result = workspace.pairsync("run", "pairsync.yaml", "--json")
    store.close()
    assert result.code == 75
    assert result.one["status"] == "busy"
    assert "another run of this connection is in progress" in result.err + result.out



def test_plan_json_lists_every_operation_with_its_changes(workspace: Workspace) -> None:
    """Issue 18.7: `plan --json` held only counts."""
    result = workspace.pairsync("plan", "pairsync.yaml", "--json")
    operations = result.one["operations"]
    creates = {op["record"]: op for op in operations if op["kind"] == "create"}
    assert set(creates) == {
        "Ada Lovelace <ada@example.com>",
        "Grace Hopper <grace@example.com>",
        "Alan Turing <alan@example.com>",
    }
    ada = creates["Ada Lovelace <ada@example.com>"]
    assert (ada["side"], ada["reason"]) == ("right", "no match on the right side")
    assert {"field": "company", "old": None, "new": "Engines"} in ada["changes"]
    assert result.one["planned"]["created"] == {"left": 1, "right": 2}


def test_tables_fit_80_columns_and_show_records_by_name(workspace: Workspace) -> None:
    """Issue 18.10: cut headers, Python dict reprs and bare ids at 80 columns."""
    planned = workspace.pairsync("plan", "pairsync.yaml", COLUMNS="80")
    done = workspace.pairsync("run", "pairsync.yaml", COLUMNS="80")
    for result in (planned, done):
        assert result.code == 0, result.err
        assert max(len(line) for line in result.out.splitlines()) <= 80
        assert "…" not in result.out and "{'" not in result.out
    assert "Ada Lovelace" in planned.out and "company: Engines" in planned.out
    assert "links: 3 in total, 3 new" in done.out


def test_a_failed_read_is_never_reported_as_nothing_to_do(tmp_path: Path) -> None:
    """Issue 18.8: an unreachable API printed its error and then `nothing to do`."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens here once the probe is closed
    workspace = stripe_workspace(tmp_path, _Unreachable(f"http://127.0.0.1:{closed}"), SECRET)  # type: ignore[arg-type]
    result = workspace.pairsync("plan", "pairsync.yaml")
    assert result.code == 1
    assert "nothing to do" not in result.out + result.err
    assert f"http://127.0.0.1:{closed}" in result.err and "billing" in result.err


@dataclass
class _Unreachable:
    base_url: str


def test_an_unreachable_api_over_httpx_names_the_account_and_url(tmp_path: Path) -> None:
    """Issue 18.8, the httpx path (Google Contacts): `ConnectError: All connection attempts failed` alone."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    (tmp_path / "pairsync.yaml").write_text(
        "accounts:\n"
        "  people:\n    connector: google_contacts\n"
        f"    settings: {{client_id: demo, client_secret: '${{G_SECRET}}', refresh_token: '${{G_TOKEN}}',"
        f" base_url: '{url}', token_url: '{url}/token', retry_attempts: 1}}\n"
        + memory_account(tmp_path, "book")
        + "connections:\n  - {name: people-book, left: people, right: book}\n"
    )
    env = {**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST, "G_SECRET": "gs-hidden-1", "G_TOKEN": "gt-hidden-2"}
    result = Workspace(tmp_path, env).pairsync("plan", "pairsync.yaml")
    assert result.code == 1
    assert "nothing to do" not in result.out + result.err
    assert "account 'people' (google_contacts) at " + url in result.err
    assert "reachable from here" in result.err


def test_status_needs_no_secrets_and_lists_recent_runs(tmp_path: Path, stripe: SandboxServer) -> None:
    """Issue 18.13: status demanded every secret of the config and showed one run."""
    workspace = stripe_workspace(tmp_path, stripe, SECRET)
    for _ in range(2):
        assert workspace.pairsync("run", "pairsync.yaml").code == 0
    without = {k: v for k, v in workspace.env.items() if k not in ("STRIPE_KEY", "STRIPE_WEBHOOK")}
    shown = Workspace(tmp_path, without).pairsync("status", "pairsync.yaml", COLUMNS="80")
    assert shown.code == 0, shown.err
    assert "recent runs of billing-book" in shown.out
    assert "#1" in shown.out and "#2" in shown.out and "created 2" in shown.out
    listed = Workspace(tmp_path, without).pairsync("status", "pairsync.yaml", "--json")
    assert [run["id"] for run in listed.one["runs"]] == [2, 1]
    started = listed.one["runs"][0]["started_at"]  # ISO 8601 in UTC, as the service's API writes it
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", started), started
