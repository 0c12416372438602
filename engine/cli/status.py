"""`pairsync status`: recent runs, linked and unlinked records, failures waiting for a retry."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from engine.cli import output
from engine.config import LoadedConfig
from engine.planner.model import SIDES
from engine.state.store import StateStore


def connection_status(store: StateStore, name: str) -> dict[str, Any]:
    """The same figures the service's API reports."""
    links = store.links(name)
    linked = {"left": {link.left_id for link in links}, "right": {link.right_id for link in links}}
    unlinked = {}
    for side in SIDES:
        seen = store.seen(name, side)
        unlinked[side] = sum(1 for rid, rec in seen.items() if rid not in linked[side] and not rec.deleted)
    runs = store.runs(name, limit=5)
    return {
        "connection": name,
        "linked": len(links),
        "unlinked": unlinked,
        "failures": [{k: f[k] for k in ("side", "record_id", "error")} for f in store.failures(name)],
        "runs": [
            {
                "id": r["id"],
                "status": r["status"],
                "trigger": r["trigger"],
                "started_at": r["started_at"],
                "finished_at": r["finished_at"],
                "summary": r["summary"],
            }
            for r in runs
        ],
    }


def show_status(loaded: LoadedConfig, as_json: bool) -> None:
    store = StateStore(loaded.state_url)
    data = [connection_status(store, c.name) for c in loaded.config.connections]
    accounts = [store.account_health(name).to_json(str(loaded.path)) for name in sorted(loaded.config.accounts)]
    for item, connection in zip(data, loaded.config.connections, strict=True):
        item["accounts"] = [a for a in accounts if a["account"] in (connection.left, connection.right)]
    if as_json:
        output.print_json(data[0] if len(data) == 1 else data)
        return
    table = Table(title="status")
    for column in ("connection", "linked", "unlinked left", "unlinked right", "waiting retry", "last run"):
        table.add_column(column)
    for item in data:
        last = item["runs"][0] if item["runs"] else None
        last_text = f"#{last['id']} {last['status']} {last['started_at']:%Y-%m-%d %H:%M}" if last else "never"
        table.add_row(
            item["connection"],
            str(item["linked"]),
            str(item["unlinked"]["left"]),
            str(item["unlinked"]["right"]),
            str(len(item["failures"])),
            last_text,
        )
    output.console.print(table)
    for account in accounts:
        if account["status"] != "ok":
            name, state, reason, fix = (account[k] for k in ("account", "status", "reason", "fix"))
            output.fail(f"account {name}: {state} ({reason}): run `{fix}`")
    for item in data:
        for failure in item["failures"]:
            output.fail(f"{item['connection']}: {failure['side']} {failure['record_id']}: {failure['error']}")
