"""`pairsync status`: recent runs, linked and unlinked records, failures waiting for a retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table

from engine.cli import output
from engine.config.state_only import StateOnly
from engine.planner.model import SIDES
from engine.queue.status import queued_jobs
from engine.state.store import StateStore


def connection_status(store: StateStore, name: str) -> dict[str, Any]:
    """The same figures the service's API reports."""
    unlinked = {side: store.count_unlinked(name, side) for side in SIDES}
    runs = store.runs(name, limit=5)
    return {
        "connection": name,
        "queue": queued_jobs(store).get(name, {"waiting": 0, "running": 0, "asked_by": []}),
        "linked": store.count_links(name),
        "unlinked": unlinked,
        "failures": [{k: f[k] for k in ("side", "record_id", "error")} for f in store.failures(name)],
        "runs": [
            {
                "id": r["id"],
                "status": r["status"],
                "trigger": r["trigger"],
                "started_at": r["started_at"],
                "finished_at": r["finished_at"],
                "worker": r.get("worker"),
                "queue_wait": r.get("queue_wait"),
                "summary": r["summary"],
            }
            for r in runs
        ],
    }


def show_status(config: StateOnly, as_json: bool) -> None:
    """Reads the state store only: no account settings, so no secrets are needed."""
    store = StateStore(config.state_url)
    data = [connection_status(store, name) for name in config.connections]
    names = sorted({account for pair in config.accounts.values() for account in pair if account})
    accounts = [store.account_health(name).to_json(str(config.path)) for name in names]
    for item in data:
        sides = config.accounts.get(item["connection"], ("", ""))
        item["accounts"] = [a for a in accounts if a["account"] in sides]
    if as_json:
        output.print_json(data)  # always a list, one object per connection
        return
    table = Table(title="status")
    for column in ("connection", "linked", "unlinked left", "unlinked right", "waiting retry"):
        table.add_column(column, overflow="fold")
    for item in data:
        table.add_row(
            item["connection"],
            str(item["linked"]),
            str(item["unlinked"]["left"]),
            str(item["unlinked"]["right"]),
            str(len(item["failures"])),
        )
    output.console.print(table)
    for account in accounts:
        if account["status"] != "ok":
            name, state, reason, fix = (account[k] for k in ("account", "status", "reason", "fix"))
            output.fail(f"account {name}: {state} ({reason}): run `{fix}`")
    for item in data:
        output.console.print(_runs_table(item))
    for item in data:
        queued = item["queue"]
        if queued["waiting"] or queued["running"]:
            jobs = f"{queued['running']} job running, {queued['waiting']} waiting in the queue"
            output.say(f"{item['connection']}: {jobs}")
        for failure in item["failures"]:
            output.fail(f"{item['connection']}: {failure['side']} {failure['record_id']}: {failure['error']}")


def _runs_table(item: dict[str, Any]) -> Table:
    """The recent runs of one connection, newest first, with what each did."""
    table = Table(title=f"recent runs of {item['connection']}", title_justify="left")
    for column in ("run", "status", "trigger", "started (UTC)", "what it did"):
        table.add_column(column, overflow="fold")
    for run in item["runs"]:
        table.add_row(f"#{run['id']}", run["status"], run["trigger"], _when(run["started_at"]), _did(run["summary"]))
    if not item["runs"]:
        table.add_row("", "never run", "", "", "")
    return table


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value)


def _did(summary: dict[str, Any]) -> str:
    parts = []
    for key in ("created", "updated", "tagged"):
        counts = summary.get(key) or {}
        total = sum(counts.values()) if isinstance(counts, dict) else 0
        if total:
            parts.append(f"{key} {total}")
    if summary.get("failed"):
        parts.append(f"failed {summary['failed']}")
    return ", ".join(parts) or "nothing to write" if summary else ""
