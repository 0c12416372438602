"""Config errors name the file, line and key, say what was expected and suggest the nearest valid value.

Each case is a whole config file and the exact lines `pairsync validate` prints for it
(`<file>:<line>: <key>: <message>`, with `<file>` written as `F` here).
"""

from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
import tempfile
import textwrap
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.config import ConfigError, load_config
from engine.plugins import ALLOW_LIST_ENV
from tests.fixtures.registries import BUILTIN_ALLOW_LIST, builtin_registry

REGISTRY = builtin_registry()
ENV = {"STRIPE_KEY": "sk_test_config0errors0key"}

TWO_MEMORY_ACCOUNTS = """
accounts:
  crm:
    connector: memory
  book:
    connector: memory
connections:
"""

STRIPE_AND_MEMORY = """
accounts:
  billing:
    connector: stripe
    settings:
      api_key: ${STRIPE_KEY}
  book:
    connector: memory
connections:
"""

MEMORY_FIELDS = "email, name, first_name, last_name, phone, company, description, created"
STRIPE_FIELDS = (
    "stripe_customer_id, name, email, phone, description, address.line1, address.line2, address.city, "
    "address.state, address.postal_code, address.country, created, plans, has_subscriptions, "
    "subscription_status, lifecycle_stage, mrr, mrr_currency, renewal_date and custom fields metadata.<key>"
)
CONNECTION_KEYS = (
    "name, left, right, direction, enabled, schedule, match, mode, conflict, mapping, if, then, "
    "deletions, unsubscribes, breaker, id_field"
)
QUICKBOOKS_KEYS = (
    "base_url, client_id, client_secret, refresh_token, realm_id, token_url, authorization_url, minor_version, "
    "webhook_verifier_token, requests_per_minute, max_concurrency, batch_requests_per_minute, batch_size, "
    "page_size, cdc_overlap_seconds, retry_attempts, retry_max_wait, timeout_seconds"
)
OPERATORS = ", ".join(sorted(REGISTRY.condition_ops))
MODES = "'create-and-update', 'create-only' or 'update-only'"

CASES: list[tuple[str, str, list[str]]] = [
    (
        "typo in a connection key",
        TWO_MEMORY_ACCOUNTS + "  - {name: c, left: crm, right: book,\n     directon: two-way}\n",
        [
            "F:8: connections[0].directon: unknown key; did you mean `direction`? "
            f"(expected one of: {CONNECTION_KEYS})",
        ],
    ),
    (
        "typo in a connector's own connection key (issue 18.19: the list omitted it)",
        STRIPE_AND_MEMORY + "  - name: c\n    left: billing\n    right: book\n    sync_rule: {}\n",
        [
            "F:12: connections[0].sync_rule: unknown key; did you mean `sync_rules`? "
            f"(expected one of: {CONNECTION_KEYS}, sync_rules)",
        ],
    ),
    (
        "unset environment variable",
        STRIPE_AND_MEMORY.replace("STRIPE_KEY", "NOT_SET_ANYWHERE") + "  - {name: c, left: billing, right: book}\n",
        [
            "F:5: accounts.billing.settings.api_key: environment variable NOT_SET_ANYWHERE is not set; "
            "export it or change the reference"
        ],
    ),
    (
        "unknown connector",
        "accounts:\n  crm:\n    connector: strpe\nconnections: []\n",
        [
            "F:3: accounts.crm.connector: no connector named 'strpe'; did you mean `stripe`? "
            "(installed: google_contacts, mailchimp, memory, quickbooks, stripe)"
        ],
    ),
    (
        "unknown account in a connection",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crn\n    right: book\n",
        ["F:8: connections[0].left: no account named 'crn'; did you mean `crm`? (accounts: crm, book)"],
    ),
    (
        "bad enum value",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crm\n    right: book\n    mode: create-onli\n",
        [f"F:10: connections[0].mode: expected {MODES}, got 'create-onli'; did you mean `create-only`?"],
    ),
    (
        "bad enum value inside a per-side mode",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crm\n    right: book\n    mode: {right: update_only}\n",
        [f"F:10: connections[0].mode.right: expected {MODES}, got 'update_only'; did you mean `update-only`?"],
    ),
    (
        "bad direction",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crm\n    right: book\n    direction: left-to-rigth\n",
        [
            "F:10: connections[0].direction: expected 'two-way', 'left-to-right' or 'right-to-left', "
            "got 'left-to-rigth'; did you mean `left-to-right`?"
        ],
    ),
    (
        "wrong type",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crm\n    right: book\n    enabled: maybe\n",
        ["F:10: connections[0].enabled: expected true or false, got 'maybe'"],
    ),
    (
        "a list where a mapping belongs",
        "accounts: [crm, book]\nconnections: []\n",
        ["F:1: accounts: expected a mapping of keys to values, got a list"],
    ),
    (
        "missing required key",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    right: book\n",
        ["F:7: connections[0].left: required key is missing"],
    ),
    (
        "a cron hour out of range (the scheduler's own parser)",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crm\n    right: book\n    schedule: '0 25 * * *'\n",
        [
            "F:10: connections[0].schedule: schedule '0 25 * * *' is not a valid cron expression: hour '25': "
            "the last value (25) is higher than the maximum value (23); the 5 fields are minute hour "
            "day-of-month month day-of-week (minute 0-59, hour 0-23, day 1-31, month 1-12, day-of-week 0-6)"
        ],
    ),
    (
        "a cron minute out of range",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crm\n    right: book\n    schedule: '61 * * * *'\n",
        [
            "F:10: connections[0].schedule: schedule '61 * * * *' is not a valid cron expression: minute '61': "
            "the last value (61) is higher than the maximum value (59); the 5 fields are minute hour "
            "day-of-month month day-of-week (minute 0-59, hour 0-23, day 1-31, month 1-12, day-of-week 0-6)"
        ],
    ),
    (
        "missing top-level key",
        "accounts:\n  crm:\n    connector: memory\n",
        ["F:1: connections: required key is missing"],
    ),
    (
        "duplicate key",
        "accounts:\n  crm:\n    connector: memory\n  crm:\n    connector: memory\nconnections: []\n",
        ["F:4: accounts.crm: this key appears twice in the same block; keep one"],
    ),
    (
        "duplicate connection name",
        TWO_MEMORY_ACCOUNTS + "  - {name: c, left: crm, right: book}\n  - {name: c, left: book, right: crm}\n",
        ["F:8: connections[1].name: two connections are named 'c'; names must be unique"],
    ),
    (
        "invalid YAML",
        "accounts:\n  crm:\n    connector: memory\n   bad: [\n",
        [
            "F:4: not valid YAML: the indentation does not line up: this line is indented more or less than the "
            "lines of the same block above it"
        ],
    ),
    (
        "tab indentation",
        "accounts:\n\tcrm: {}\n",
        ["F:2: not valid YAML: a tab character; YAML indents with spaces only"],
    ),
    (
        "a YAML alias inside its own anchor",
        "accounts: &loop\n  crm: *loop\nconnections: []\n",
        ["F:2: accounts.crm: this value contains itself (a YAML alias inside its own anchor)"],
    ),
    (
        "a connection while no accounts are defined",
        "accounts: {}\nconnections:\n  - {name: c, left: crm, right: book}\n",
        [
            "F:3: connections[0].left: no account named 'crm' (no accounts are defined under `accounts`)",
            "F:3: connections[0].right: no account named 'book' (no accounts are defined under `accounts`)",
        ],
    ),
    ("empty file", "", ["F: the file is empty; expected a mapping with `accounts` and `connections`"]),
    ("a list at the top", "- accounts\n", ["F:1: expected a mapping with `accounts` and `connections`"]),
    (
        "stripe account missing api_key",
        "accounts:\n  billing:\n    connector: stripe\n    settings: {}\nconnections: []\n",
        ["F:4: accounts.billing.settings.api_key: required key is missing"],
    ),
    (
        "quickbooks unknown setting",
        textwrap.dedent(
            """\
            accounts:
              books:
                connector: quickbooks
                settings:
                  client_id: abc
                  client_secret: def
                  refresh_token: ghi
                  realm_id: "123"
                  minor_verson: 70
            connections: []
            """
        ),
        [
            "F:9: accounts.books.settings.minor_verson: unknown key; did you mean `minor_version`? "
            f"(expected one of: {QUICKBOOKS_KEYS})"
        ],
    ),
    (
        "memory setting of the wrong type",
        "accounts:\n  crm:\n    connector: memory\n    settings:\n      page_size: lots\nconnections: []\n",
        ["F:5: accounts.crm.settings.page_size: expected a whole number, got 'lots'"],
    ),
    (
        "stripe sync_rules with an invalid customer id",
        STRIPE_AND_MEMORY
        + "  - name: c\n    left: billing\n    right: book\n    direction: left-to-right\n"
        + "    sync_rules:\n      mode: include\n      ids: [cus_abc123, cust-42]\n",
        [
            "F:15: connections[0].sync_rules.ids: Invalid customer ID: cust-42 "
            "(expected cus_ followed by letters and numbers, e.g. cus_abc123)"
        ],
    ),
    (
        "stripe sync_rules ids as one comma-separated string",
        STRIPE_AND_MEMORY
        + "  - name: c\n    left: billing\n    right: book\n    direction: left-to-right\n"
        + "    sync_rules: {mode: exclude, ids: 'cus_A1, cus 2'}\n",
        [
            "F:13: connections[0].sync_rules.ids: Invalid customer ID: cus 2 "
            "(expected cus_ followed by letters and numbers, e.g. cus_abc123)"
        ],
    ),
    (
        "connector options are not blamed when the account itself is wrong",
        "accounts:\n  billing: {connector: stirpe}\n  book: {connector: memory}\nconnections:\n"
        "  - {name: c, left: billing, right: book, sync_rules: {mode: all}}\n",
        [
            "F:2: accounts.billing.connector: no connector named 'stirpe'; did you mean `stripe`? "
            "(installed: google_contacts, mailchimp, memory, quickbooks, stripe)"
        ],
    ),
    (
        "mapping names a field the connector does not have",
        STRIPE_AND_MEMORY
        + "  - name: c\n    left: billing\n    right: book\n    direction: left-to-right\n"
        + "    mapping:\n      fields:\n        - left: emial\n          right: email\n",
        [
            "F:15: connections[0].mapping.fields[0].left: stripe has no field 'emial'; did you mean `email`?; "
            f"its fields: {STRIPE_FIELDS}"
        ],
    ),
    (
        "unknown IF operator and field",
        TWO_MEMORY_ACCOUNTS + "  - name: c\n    left: crm\n    right: book\n    if:\n"
        "      left: {field: emal, op: equls, value: x}\n",
        [
            f"F:11: connections[0].if.left: unknown operator 'equls'; did you mean `equals`? (operators: {OPERATORS})",
            f"F:11: connections[0].if.left: memory has no field 'emal'; did you mean `email`?; its fields: "
            f"{MEMORY_FIELDS}",
        ],
    ),
    (
        "several problems are reported together",
        "accounts:\n  crm:\n    connector: memory\n    setings: {}\n  book:\n    connector: memroy\nconnections: []\n",
        [
            "F:4: accounts.crm.setings: unknown key; did you mean `settings`? (expected one of: connector, settings)",
        ],
    ),
    (
        "an account's connector typo once the shape is right",
        "accounts:\n  crm:\n    connector: memory\n  book:\n    connector: memroy\nconnections: []\n",
        [
            "F:5: accounts.book.connector: no connector named 'memroy'; did you mean `memory`? "
            "(installed: google_contacts, mailchimp, memory, quickbooks, stripe)"
        ],
    ),
]


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "pairsync.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, plugins=REGISTRY, environ=ENV)
    return [str(problem).replace(str(path), "F", 1) for problem in caught.value.problems]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_names_file_line_and_key(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems_of(tmp_path, text.lstrip("\n")) == expected


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"accounts:\n  crm: \xff\xfe\n")
    cases = {
        missing: f"{missing}: cannot read the file: No such file or directory",
        tmp_path: f"{tmp_path}: cannot read the file: Is a directory",
        binary: f"{binary}: cannot read the file: not UTF-8 text (byte 17)",
    }
    for path, message in cases.items():
        with pytest.raises(ConfigError) as caught:
            load_config(path, plugins=REGISTRY, environ=ENV)
        assert [str(p) for p in caught.value.problems] == [message]


def test_a_wrong_secret_is_never_echoed_in_the_error(tmp_path: Path) -> None:
    text = STRIPE_AND_MEMORY.lstrip("\n") + "  - {name: c, left: billing, right: book, direction: left-to-right}\n"
    path = tmp_path / "pairsync.yaml"
    path.write_text(text)
    secret = "pk_live_looks0like0a0key0but0is0public"
    with pytest.raises(ConfigError) as caught:
        load_config(path, plugins=REGISTRY, environ={"STRIPE_KEY": secret})
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:5: accounts.billing.settings.api_key: api_key must be a secret (sk_) or restricted (rk_) key, "
        "test or live"
    ]


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        accounts:
          books:
            connector: quickbooks
            settings: {client_id: abc, client_secret: [hunter2hunter2], refresh_token: ghi, realm_id: "1"}
        connections: []
        """
    )
    assert problems_of(tmp_path, text) == ["F:4: accounts.books.settings.client_secret: expected text"]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pairsync ...` in a fresh interpreter, with only the built-in plugins."""
    environment = {**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST, **(env or {})}
    command = [sys.executable, "-c", "from engine.cli import main; main()", *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=60)


def test_the_cli_prints_every_problem_and_exits_2_without_a_traceback(tmp_path: Path) -> None:
    text = TWO_MEMORY_ACCOUNTS.lstrip("\n") + "  - name: c\n    left: crn\n    right: book\n    conflict: newer\n"
    (tmp_path / "pairsync.yaml").write_text(text)
    result = cli("validate", "pairsync.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.splitlines() == [
        "pairsync.yaml:10: connections[0].conflict: expected 'left', 'right' or 'newest', got 'newer'; "
        "did you mean `newest`?"
    ]


def test_the_cli_reports_a_missing_file_with_exit_2(tmp_path: Path) -> None:
    result = cli("plan", "absent.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "absent.yaml: cannot read the file: No such file or directory",
    )


# --- Generated broken configs: never a traceback, always the place of the problem ---------------------------

VALID: dict[str, Any] = {
    "accounts": {
        "billing": {"connector": "stripe", "settings": {"api_key": "sk_test_generated0", "partitions": 2}},
        "crm": {"connector": "memory", "settings": {"store": "crm", "page_size": 10}},
        "books": {
            "connector": "quickbooks",
            "settings": {"client_id": "abc", "client_secret": "def", "refresh_token": "ghi", "realm_id": "1"},
        },
    },
    "connections": [
        {
            "name": "billing-crm",
            "left": "billing",
            "right": "crm",
            "direction": "left-to-right",
            "mode": {"left": "update-only", "right": "create-and-update"},
            "sync_rules": {"mode": "exclude", "ids": ["cus_abc123"]},
            "mapping": {"fields": [{"left": "description", "right": "company", "transform": "strip"}]},
            "if": {"left": {"any": [{"field": "email", "op": "not_empty"}, {"field": "name", "op": "empty"}]}},
            "then": {"right": [{"add_tag": "customer"}, {"set_field": "company", "value": "ACME"}]},
            "breaker": {"max_share": 0.3},
        },
        {"name": "books-crm", "left": "books", "right": "crm", "schedule": "15m", "conflict": "left"},
    ],
}

WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
GARBAGE = st.text(alphabet=":{}[]-#&*!|>'\"%@`, \n\tabc${}", min_size=1, max_size=12)


def key_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path that ends at a mapping key or a list item."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        found.append((*path, key))
        found += key_paths(value, (*path, key))
    return found


def typo(word: str, data: st.DataObject) -> str:
    index = data.draw(st.integers(0, max(len(word) - 1, 0)))
    kind = data.draw(st.sampled_from(["drop", "double", "swap", "change"]))
    if kind == "drop" or len(word) < 2:
        return word[:index] + word[index + 1 :] or "x"
    if kind == "double":
        return word[:index] + word[index] + word[index:]
    if kind == "swap":
        index = min(index, len(word) - 2)
        return word[:index] + word[index + 1] + word[index] + word[index + 2 :]
    return word[:index] + data.draw(st.sampled_from("aeiouxz_")) + word[index + 1 :]


def mutate(config: Any, data: st.DataObject) -> None:
    """Delete a key, misspell it, or give it a value of the wrong type."""
    paths = key_paths(config)
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    parent = config
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    kind = data.draw(st.sampled_from(["delete", "typo", "wrong type"]))
    if kind == "delete":
        del parent[last]
    elif kind == "typo" and isinstance(last, str):
        parent[typo(last, data)] = parent.pop(last)
    else:
        parent[last] = data.draw(WRONG_VALUES)


def broken_text(data: st.DataObject) -> str:
    config = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 3))):
        mutate(config, data)
    text = yaml.safe_dump(config, sort_keys=False)
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(GARBAGE) + text[at:]
    return text


def cli_in_process(*args: str) -> tuple[int, str]:
    """`pairsync ...` through the CLI's own error handling, in this process (fast enough for Hypothesis)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with mock.patch.object(sys, "argv", ["pairsync", *args]), redirect_stdout(out), redirect_stderr(err):
        try:
            main()
        except SystemExit as done:
            code = int(done.code or 0)
    return code, out.getvalue() + err.getvalue()


FILE_WIDE = ("the file is empty", "expected a mapping with", "not valid YAML", "cannot read")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_broken_configs_never_show_a_traceback(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pairsync.yaml"
        path.write_text(broken_text(data))
        code, printed = cli_in_process("validate", str(path))
        assert "Traceback" not in printed
        assert code in (0, 2), printed
        try:
            load_config(path)
        except ConfigError as error:
            assert code == 2
            for problem in error.problems:
                assert problem.file == str(path)
                assert problem.line is not None or problem.message.startswith(FILE_WIDE), problem
                assert problem.key or problem.message.startswith(FILE_WIDE), problem
                assert str(problem) in printed
