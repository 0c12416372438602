"""Plugins: an out-of-tree package is found through its entry point; clashes and broken imports are reported.

The fixture plugin lives in tests/fixtures/pairsync-hello and must be installed into the test environment:
`.venv/bin/pip install -e tests/fixtures/pairsync-hello`.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

from engine import hookspecs
from engine.config import load_config
from engine.plugins import ALLOW_LIST_ENV, ENTRY_POINT_GROUP, PluginError, Registry, build_registry, load_plugins
from engine.plugins import make_manager as new_manager

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ".venv/bin/pip install -e tests/fixtures/pairsync-hello"


@pytest.fixture(scope="module", autouse=True)
def _hello_installed() -> None:
    if not any(entry.name == "hello" for entry in entry_points(group=ENTRY_POINT_GROUP)):
        pytest.fail(f"the fixture plugin is not installed; run `{INSTALL}`")


def entry(name: str, module: str) -> EntryPoint:
    return EntryPoint(name=name, value=module, group=ENTRY_POINT_GROUP)


def registry_of(*entries: EntryPoint) -> Registry:
    manager = new_manager()
    failed: dict[str, str] = {}
    load_plugins(manager, failed, entries)
    return build_registry(manager, failed)


def connectors_json(**env: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", "from engine.cli import main; main()", "connectors", "--json"],
        env={k: v for k, v in {**os.environ, **env}.items() if v},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_an_installed_plugin_is_listed_by_pairsync_connectors() -> None:
    listed = connectors_json(**{ALLOW_LIST_ENV: ""})
    rows = {row["name"]: row for row in listed["connectors"]}  # type: ignore[attr-defined]
    assert {"hello", "memory", "stripe", "quickbooks", "google_contacts"} <= set(rows)
    assert (rows["hello"]["plugin"], rows["hello"]["fields"]) == ("hello", ["email", "name", "greeting"])
    assert listed["failed_plugins"] == {}


def test_the_allow_list_limits_which_plugins_load() -> None:
    listed = connectors_json(**{ALLOW_LIST_ENV: "memory, hello"})
    assert [row["name"] for row in listed["connectors"]] == ["hello", "memory"]  # type: ignore[attr-defined]


def test_a_plugin_registers_connectors_transforms_and_condition_ops(tmp_path: Path) -> None:
    plugins = registry_of(entry("builtins", "engine.builtins"), entry("hello", "pairsync_hello"))
    assert plugins.connectors["hello"].__module__ == "pairsync_hello"
    assert plugins.transforms["shout"]("hi") == "HI!"
    assert plugins.condition_ops["longer_than"]("Ada", 2)
    path = tmp_path / "hello.yaml"
    path.write_text(
        "accounts:\n  a: {connector: hello}\n  b: {connector: hello, settings: {greeting: hi}}\n"
        "connections:\n  - name: a-b\n    left: a\n    right: b\n"
        "    mapping: {fields: [{left: name, right: name, transform: shout}]}\n"
        "    if: {left: {field: name, op: longer_than, value: 2}}\n"
    )
    loaded = load_config(path, plugins=plugins)
    assert loaded.accounts["b"].settings.model_dump() == {"base_url": None, "greeting": "hi"}


def test_two_connectors_with_one_name_fail_naming_both_plugins() -> None:
    with pytest.raises(PluginError) as caught:
        registry_of(entry("hello", "pairsync_hello"), entry("hello_again", "pairsync_hello.duplicate"))
    assert str(caught.value) == (
        "two connectors are named 'hello': one from plugin 'hello', one from plugin 'hello_again'; "
        f"uninstall one of them or disable it with {ALLOW_LIST_ENV}"
    )


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_load() -> None:
    plugins = registry_of(entry("broken", "pairsync_hello.broken"), entry("hello", "pairsync_hello"))
    assert plugins.failed == {"broken": "ModuleNotFoundError: No module named 'pairsync_hello_missing_dependency'"}
    assert set(plugins.connectors) == {"hello"}


def test_the_allow_list_keeps_a_broken_plugin_from_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_LIST_ENV, "hello")
    plugins = registry_of(entry("broken", "pairsync_hello.broken"), entry("hello", "pairsync_hello"))
    assert (plugins.failed, set(plugins.connectors)) == ({}, {"hello"})


# --- Documentation: in the spirit of datasette's test_docs --------------------------------------------------------

PLUGIN_DOCS = ROOT / "docs" / "plugins.md"
HOOKS = sorted(
    name for name, value in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")
)


def test_the_hook_list_is_what_the_docs_expect() -> None:
    assert HOOKS == ["register_condition_ops", "register_connectors", "register_mappings", "register_transforms"]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    headings = re.findall(r"^#+ +`?(\w+)", PLUGIN_DOCS.read_text(), re.MULTILINE)
    assert hook in headings, f"docs/plugins.md has no heading for the hook {hook}"


def test_the_docs_name_every_connector_method_a_plugin_implements() -> None:
    text = PLUGIN_DOCS.read_text()
    for name in ("list", "get", "upsert", "tag", "untag", "aclose", "verify_webhook", "skip_reason", "sandbox"):
        assert f"`{name}" in text, name
    assert "ConnectorContract" in text and "SandboxServer" in text


def test_an_unknown_name_in_the_allow_list_is_reported() -> None:
    """Issue 18.16: `PAIRSYNC_PLUGINS=builtins,memroy` gave an empty table and no warning."""
    listed = connectors_json(**{ALLOW_LIST_ENV: "builtins,memroy"})
    assert listed["connectors"] == []
    [unknown] = listed["unknown_plugins"]  # type: ignore[misc]
    assert unknown.startswith("'memroy'; did you mean 'memory'? (installed plugins: builtins, ")
