"""Every example config, and every config shown in the docs, loads cleanly and fits `pairsync schema`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.cli import config_schema
from engine.config import LoadedConfig, load_config
from engine.connection import prepare
from engine.plugins import ALLOW_LIST_ENV
from engine.secrets import REFERENCE
from tests.fixtures.registries import BUILTIN_ALLOW_LIST, builtin_registry

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = builtin_registry()

# One plausible value for every variable the examples and docs refer to.
ENV = {
    "STRIPE_API_KEY": "sk_test_example0key",
    "STRIPE_WEBHOOK_SECRET": "whsec_example0secret",
    "GOOGLE_CLIENT_ID": "example.apps.googleusercontent.com",
    "GOOGLE_CLIENT_SECRET": "example-google-secret",
    "GOOGLE_REFRESH_TOKEN": "example-google-refresh",
    "QUICKBOOKS_CLIENT_ID": "example-qb-client",
    "QUICKBOOKS_CLIENT_SECRET": "example-qb-secret",
    "QUICKBOOKS_REFRESH_TOKEN": "example-qb-refresh",
    "QUICKBOOKS_REALM_ID": "9130350000000000",
    "MAILCHIMP_API_KEY": "example0mailchimp0key-us19",
    "MAILCHIMP_LIST_ID": "a1b2c3d4e5",
    "MAILCHIMP_WEBHOOK_TOKEN": "example-webhook-token",
    "NOTIFY_WEBHOOK_SECRET": "example-notify-secret",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T0/B0/x",
    "SMTP_USERNAME": "pairsync",
    "SMTP_PASSWORD": "example-smtp-password",
}

YAML_BLOCK = re.compile(r"^```ya?ml\n(accounts:.*?)^```", re.DOTALL | re.MULTILINE)
PYTHON_FILE = re.compile(r"^```python\n# (\S+\.py)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def doc_blocks() -> list[tuple[str, str]]:
    """(`file#n`, text) for each ```yaml block of README.md and docs/*.md that starts with `accounts:`."""
    found: list[tuple[str, str]] = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if doc.exists():
            for number, block in enumerate(YAML_BLOCK.findall(doc.read_text()), start=1):
                found.append((f"{doc.relative_to(ROOT)}#{number}", block))
    return found


def doc_files() -> dict[str, dict[str, str]]:
    """Per doc, the ```python blocks that start with `# <name>.py`: plugin files its configs list."""
    found: dict[str, dict[str, str]] = {}
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if doc.exists():
            found[str(doc.relative_to(ROOT))] = dict(PYTHON_FILE.findall(doc.read_text()))
    return found


FILES = doc_files()
EXAMPLES = [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted((ROOT / "examples").glob("*.yaml"))]
CONFIGS = EXAMPLES + doc_blocks()


def test_the_examples_cover_the_main_app_pairs() -> None:
    names = {Path(name).stem for name, _ in EXAMPLES}
    assert {"memory-demo", "stripe-to-google-contacts", "stripe-to-quickbooks", "quickbooks-google-two-way"} <= names


def test_docs_show_at_least_one_config() -> None:
    assert any(name.startswith("docs/") for name, _ in doc_blocks())


def test_the_rules_doc_shows_the_plugin_file_its_config_lists() -> None:
    assert "transforms.py" in FILES["docs/rules.md"]


def load(tmp_path: Path, name: str, text: str) -> LoadedConfig:
    unknown = set(REFERENCE.findall(text)) - set(ENV)
    assert not unknown, f"{name} refers to variables this test does not set: {sorted(unknown)}"
    for file_name, source in FILES.get(name.split("#", 1)[0], {}).items():
        (tmp_path / file_name).write_text(source)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_config(path, plugins=REGISTRY, environ=ENV)


@pytest.mark.parametrize(("name", "text"), CONFIGS, ids=[name for name, _ in CONFIGS])
def test_config_loads_without_problems(tmp_path: Path, name: str, text: str) -> None:
    loaded = load(tmp_path, name, text)
    assert loaded.config.connections


@pytest.mark.parametrize(("name", "text"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example_loads_without_warnings(tmp_path: Path, name: str, text: str) -> None:
    """Examples are copied as they are, so they show the settings that keep `validate` quiet."""
    loaded = load(tmp_path, name, text)
    for connection in loaded.config.connections:
        assert prepare(loaded, connection, REGISTRY).warnings == []


@pytest.mark.parametrize(("name", "text"), CONFIGS, ids=[name for name, _ in CONFIGS])
def test_config_fits_the_json_schema(name: str, text: str) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="the schema check needs jsonschema (test extra)")
    jsonschema.validate(yaml.safe_load(text), config_schema(REGISTRY))


def test_the_json_schema_rejects_what_the_loader_rejects() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="the schema check needs jsonschema (test extra)")
    broken = yaml.safe_load(EXAMPLES[0][1])
    broken["connections"][0]["directon"] = "two-way"
    with pytest.raises(jsonschema.ValidationError, match="directon"):
        jsonschema.validate(broken, config_schema(REGISTRY))


def test_the_memory_demo_has_data_to_plan_and_run(tmp_path: Path) -> None:
    """Issue 18.15: the "quickest way to watch pairsync plan and run" planned and ran nothing."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples", tmp_path / "examples")
    env = {**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST}

    def pairsync(*args: str) -> object:
        done = subprocess.run(
            [sys.executable, "-c", "from engine.cli import main; main()", *args, "examples/memory-demo.yaml", "--json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)[0]

    planned = pairsync("plan")
    kinds = sorted({op["kind"] for op in planned["operations"]})  # type: ignore[index]
    assert kinds == ["conflict", "create", "link", "skip", "tag", "update"]
    done = pairsync("run")
    assert done["created"] == planned["created"] and done["linked"]["total"] == 5  # type: ignore[index]
    assert pairsync("plan")["operations"] == []  # type: ignore[index]
