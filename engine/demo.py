"""`pairsync demo`: local sandboxes, sample people, a plan, a two-way sync, an edit on each side, a second sync.

The scenario (which connectors, which people) is data in `connectors/demo.yaml`;
this module knows no app by name.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from contextlib import ExitStack
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from engine.cli import output, plan_output
from engine.config import load_config
from engine.connector import Connector, Sandbox
from engine.plugins import PluginError, registry
from engine.runner import plan_connection, run_connection
from engine.sandbox import SandboxServer
from engine.state.store import StateStore

SIDES = ("left", "right")


def scenario() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((files("connectors") / "demo.yaml").read_text())
    return data


def _sandbox_class(name: str) -> tuple[type[Connector], type[Sandbox]]:
    cls = registry().connector(name)
    sandbox = cls.sandbox()
    if sandbox is None:
        raise PluginError(f"the demo needs a sandbox for {name!r}, and that connector ships none")
    return cls, sandbox


def _settings_with_references(
    cls: type[Connector], settings: dict[str, Any], side: str, variables: dict[str, str] | None = None
) -> dict[str, Any]:
    """Secrets go into the environment; the config holds `${VAR}` references, as a real one should."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        field = cls.settings_model.model_fields.get(key)
        if field is not None and "SecretStr" in str(field.annotation) and value is not None:
            variable = f"PAIRSYNC_DEMO_{side.upper()}_{key.upper()}"
            os.environ[variable] = str(value.get_secret_value() if isinstance(value, SecretStr) else value)
            if variables is not None:
                variables[variable] = os.environ[variable]
            out[key] = "${" + variable + "}"
        else:
            out[key] = value
    return out


def write_config(folder: Path, story: dict[str, Any], servers: dict[str, SandboxServer]) -> Path:
    """The demo's config, and beside it `.env` with the values of the `${PAIRSYNC_DEMO_...}` it refers to."""
    connection = story["connection"]
    accounts = {}
    variables: dict[str, str] = {}
    for side in SIDES:
        cls, _ = _sandbox_class(connection[side])
        accounts[f"demo_{connection[side]}"] = {
            "connector": connection[side],
            "settings": _settings_with_references(cls, servers[side].settings(), side, variables),
        }
    env = folder / ".env"
    env.write_text("".join(f"{name}={value}\n" for name, value in sorted(variables.items())))
    env.chmod(0o600)
    config = {
        "accounts": accounts,
        "connections": [
            {
                "name": connection["name"],
                "left": f"demo_{connection['left']}",
                "right": f"demo_{connection['right']}",
                "conflict": connection.get("conflict", "newest"),
            }
        ],
    }
    path = folder / "pairsync.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def seed(story: dict[str, Any], sandboxes: dict[str, Sandbox]) -> None:
    """Add the sample people; the right side is seeded a moment later so its changes are the newest."""
    for side in SIDES:
        for person in story["people"]:
            if side in person:
                sandboxes[side].add_record(person[side])
        time.sleep(1.1)


def apply_edits(story: dict[str, Any], sandboxes: dict[str, Sandbox]) -> None:
    for edit in story.get("edits", []):
        sandbox = sandboxes[edit["side"]]
        for record in sandbox.records():
            if str(record.get("email", "")).lower() == edit["email"]:
                sandbox.update_record(record["id"], edit["fields"])
                output.say(f"  edit: {edit['note']}")


def run_demo(keep: Path | None = None, stay: bool = False) -> None:
    story = scenario()
    classes = {side: _sandbox_class(story["connection"][side]) for side in SIDES}
    with ExitStack() as stack:
        folder = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pairsync-demo-")))
        folder.mkdir(parents=True, exist_ok=True)
        sandboxes = {side: classes[side][1](rng_seed=secrets.randbelow(1000)) for side in SIDES}
        servers = {side: stack.enter_context(SandboxServer(sandboxes[side])) for side in SIDES}
        for side in SIDES:
            output.say(f"{side}: {classes[side][0].name} sandbox at {servers[side].base_url}")
        seed(story, sandboxes)
        config_path = write_config(folder, story, servers)
        output.say(f"config: {config_path}\n")
        _play(config_path, story, sandboxes)
        if keep:
            _kept(folder, stay)
        if stay:
            _serve_until_interrupted(servers)
    _next_steps()


def _kept(folder: Path, stay: bool) -> None:
    output.say(f"\nthe demo folder is kept at {folder}:")
    output.say(f"  {folder / 'pairsync.yaml'}   the config")
    output.say(f"  {folder / '.env'}   the sandboxes' keys its ${{PAIRSYNC_DEMO_...}} refer to")
    output.say(f"  {folder / '.pairsync'}   the state: links, cursors, run history")
    env, config = folder / '.env', folder / 'pairsync.yaml'
    output.say(f"to use it, in a shell: set -a; . {env}; set +a; pairsync status {config}")
    if not stay:
        output.say(
            "the sandboxes stop now, so plan and run cannot reach them; `pairsync demo --keep DIR --stay` keeps "
            "them running until Ctrl-C (run it again for fresh sandboxes with the same people and edits)"
        )


def _serve_until_interrupted(servers: dict[str, SandboxServer]) -> None:
    """Keep the sandboxes up so the kept config can be planned, run and edited against them."""
    addresses = ", ".join(server.base_url for server in servers.values())
    output.say(f"\nthe sandboxes keep running at {addresses}; press Ctrl-C to stop them")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        output.say("sandboxes stopped")


def _play(config_path: Path, story: dict[str, Any], sandboxes: dict[str, Sandbox]) -> None:
    loaded = load_config(config_path)
    connection = loaded.config.connections[0]
    store = StateStore(loaded.state_url)
    output.say("1. the plan (a dry run: nothing is written)", style="bold")
    planned = asyncio.run(plan_connection(loaded, connection, store))
    output.print_messages(planned)  # the warnings once, here
    output.console.print(plan_output.plan_table(planned))
    output.say("2. the first two-way sync", style="bold")
    first = asyncio.run(run_connection(loaded, connection, store))
    output.console.print(plan_output.done_table(first))
    output.console.print(plan_output.summary_table(first))
    output.say("3. someone edits a record on each side", style="bold")
    apply_edits(story, sandboxes)
    output.say("4. the next sync carries only those changes across", style="bold")
    second = asyncio.run(run_connection(loaded, connection, store))
    output.console.print(plan_output.done_table(second))
    output.console.print(plan_output.summary_table(second))
    output.say("5. a sync right after a sync writes nothing", style="bold")
    third = asyncio.run(run_connection(loaded, connection, store))
    output.console.print(plan_output.summary_table(third))
    for side in SIDES:
        output.say(f"{side} now holds {len(sandboxes[side].records())} records")


def _next_steps() -> None:
    output.say(
        "\nwhat to try next:\n"
        "  pairsync connectors                      the connectors installed\n"
        "  pairsync sandbox stripe --seed 20        a sandbox of your own; its first line is a settings block\n"
        "  pairsync validate my.yaml                check a config: file, line and key of every problem\n"
        "  pairsync plan my.yaml                    the dry run\n"
        "  pairsync run my.yaml --json              a sync, with a JSON summary\n"
        "  pairsync demo --keep ./demo              keep the demo's config and state to explore"
    )
