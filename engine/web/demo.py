"""`pairsync demo --serve`: the demo's story, then its service with the dashboard, for a new user to click through.

On top of the demo's syncs the connection reviews deletions, and one person
deleted on the left waits in Review, so every screen has something to show.
`docs/screenshots.py` stages the same state to take the dashboard's pictures.
"""

from __future__ import annotations

import asyncio
import secrets
import webbrowser
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from engine import demo
from engine.cli import output
from engine.cli.plan_output import summary_table
from engine.config import load_config
from engine.connector import Sandbox
from engine.runner import run_connection
from engine.sandbox import SandboxServer, bound_socket
from engine.state.store import StateStore

DELETED = "ludwig@example.com"
"""The person the staged demo deletes on the left, so that Review holds a deletion."""


def stage(stack: ExitStack, folder: Path) -> tuple[Path, dict[str, Sandbox]]:
    """Sandboxes up (until `stack` closes), people seeded, the demo played, one deletion held for review."""
    story = demo.scenario()
    classes = {side: demo._sandbox_class(story["connection"][side]) for side in demo.SIDES}
    sandboxes = {side: classes[side][1](rng_seed=secrets.randbelow(1000)) for side in demo.SIDES}
    servers = {side: stack.enter_context(SandboxServer(sandboxes[side])) for side in demo.SIDES}
    demo.seed(story, sandboxes)
    config_path = demo.write_config(folder, story, servers)
    _review_deletions(config_path)
    demo._play(config_path, story, sandboxes)
    _delete_one(config_path, sandboxes["left"])
    return config_path, sandboxes


def _review_deletions(path: Path) -> None:
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    for connection in config["connections"]:
        connection["deletions"] = {"review": True}
        connection["schedule"] = "15m"
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _delete_one(path: Path, sandbox: Sandbox) -> None:
    """Delete one person on the left and sync: the deletion tag waits in Review."""
    for record in sandbox.records():
        if str(record.get("email", "")).lower() == DELETED:
            sandbox.delete_record(record["id"])
            output.say(f"6. {DELETED} is deleted on the left; its deletion tag waits for review", style="bold")
    loaded = load_config(path)
    store = StateStore(loaded.state_url)
    try:
        report = asyncio.run(run_connection(loaded, loaded.config.connections[0], store))
    finally:
        store.close()
    output.console.print(summary_table(report))


def serve_demo(keep: Path | None, port: int, open_browser: bool = True) -> None:
    """Play the demo, then serve its dashboard on loopback until Ctrl-C (the sandboxes stay up meanwhile)."""
    from engine.service import serve

    with ExitStack() as stack:
        folder = keep or Path(stack.enter_context(_temporary()))
        folder.mkdir(parents=True, exist_ok=True)
        config_path, _sandboxes = stage(stack, folder)
        sock = bound_socket("127.0.0.1", port)  # port 0: the OS picks one, and the line below names it
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        output.say(f"\nthe dashboard: {url}  (Ctrl-C stops the service and the sandboxes)", style="bold")
        if open_browser:
            webbrowser.open(url)
        serve(load_config(config_path), "127.0.0.1", port, sock=sock)


def _temporary() -> Any:
    import tempfile

    return tempfile.TemporaryDirectory(prefix="pairsync-demo-")
