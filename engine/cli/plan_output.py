"""Operations of a plan as a user reads them: tables designed for 80 columns and `plan --json`.

Records show by their label (name and email) with the app's id; a field change reads `field: old → new`;
values are written as in YAML (`true`, not `True`), never as a Python repr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import IO, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine.cli.output import plain_json
from engine.planner.model import Conflict, Create, LinkOnly, Operation, Skip, Tag, Update
from engine.runner import Report
from engine.secrets import REDACTOR

Labels = Mapping[tuple[str, str], str]


def shown(value: Any) -> str:
    """A value as the user wrote it in YAML or sees it in the app."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(shown(item) for item in value) or "(empty)"
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _record(labels: Labels, side: str, record_id: str) -> str:
    text = labels.get((side, record_id))
    return f"{text} ({record_id})" if text and text != record_id else record_id


def _changes(fields: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"field": k, "old": (old or {}).get(k), "new": v} for k, v in fields.items()]


def operation(op: Operation, labels: Labels) -> dict[str, Any] | None:
    """One operation for `plan --json`: kind, side, record id and label, the field changes, the reason."""
    if isinstance(op, Create):
        source = "right" if op.side == "left" else "left"
        return {"kind": "create", "side": op.side, "record_id": None, "source_id": op.source_id,
                "record": labels.get((source, op.source_id)), "changes": _changes(op.fields, None),
                "tags": list(op.tags), "reason": f"no match on the {op.side} side"}
    if isinstance(op, Update):
        return {"kind": "update", "side": op.side, "record_id": op.record_id,
                "record": labels.get((op.side, op.record_id)), "changes": _changes(op.fields, op.old),
                "reason": "changed on the other side"}
    if isinstance(op, Tag):
        return {"kind": "tag" if op.add else "untag", "side": op.side, "record_id": op.record_id,
                "record": labels.get((op.side, op.record_id)), "tag": op.tag, "reason": op.reason}
    if isinstance(op, Skip):
        return {"kind": "skip", "side": op.side, "record_id": op.record_id,
                "record": labels.get((op.side, op.record_id)), "reason": op.reason}
    if isinstance(op, Conflict):
        return {"kind": "conflict", "side": op.winner, "record_id": op.left_id if op.winner == "left" else op.right_id,
                "left_id": op.left_id, "right_id": op.right_id, "record": labels.get(("left", op.left_id)),
                "changes": [{"field": op.field, "kept": op.value, "lost": op.losing_value}], "reason": op.rule}
    if isinstance(op, LinkOnly) and op.new:
        return {"kind": "link", "side": "both", "record_id": op.link.left_id, "left_id": op.link.left_id,
                "right_id": op.link.right_id, "record": labels.get(("left", op.link.left_id)),
                "reason": "matched"}
    return None


def stream_json(reports: list[Report], out: IO[str]) -> None:
    """`plan --json`: a list of connection objects, each with its `operations`, written one operation a line so
    a plan of any size is printed as it is serialised."""
    out.write("[")
    for index, report in enumerate(reports):
        head = json.dumps(report.summary(), default=plain_json, ensure_ascii=False)[:-1]
        out.write(("," if index else "") + "\n" + REDACTOR.redact(head) + ', "operations": [')
        first = True
        for item in _items(report):
            line = REDACTOR.redact(json.dumps(item, default=plain_json, ensure_ascii=False))
            out.write(("" if first else ",") + "\n  " + line)
            first = False
        out.write("\n]}")
    out.write("\n]\n")


def _items(report: Report) -> Iterator[dict[str, Any]]:
    for op in report.plan.operations:
        item = operation(op, report.labels)
        if item is not None:
            yield item


def _detail(item: dict[str, Any]) -> str:
    kind = item["kind"]
    if kind in ("create", "update"):
        lines = [f"{c['field']}: {shown(c['old'])} → {shown(c['new'])}" if kind == "update"
                 else f"{c['field']}: {shown(c['new'])}" for c in item["changes"]]
        lines += [f"tag: {tag}" for tag in item.get("tags", [])]
        return "\n".join(lines)
    if kind == "conflict":
        change = item["changes"][0]
        return (f"{change['field'].replace('|', ' ↔ ')}: kept {shown(change['kept'])}, "
                f"lost {shown(change['lost'])} ({item['reason']})")
    if kind in ("tag", "untag"):
        return f"{item['tag']}: {item['reason']}"
    if kind == "link":
        return f"matched with right {item['right_id']}"
    return str(item["reason"])


def plan_table(report: Report, limit: int = 200) -> Table:
    """One row per operation, wrapped (never cut) to the terminal's width; 80 columns is the design width."""
    table = Table(title=f"plan for {report.connection}", show_lines=True, expand=False)
    table.add_column("action", no_wrap=True)
    table.add_column("side", no_wrap=True)
    table.add_column("record", ratio=2, overflow="fold")
    table.add_column("detail", ratio=3, overflow="fold")
    items = list(_items(report))
    for item in items[:limit]:
        side = item["side"]
        source = "right" if side == "left" else "left"
        record = (_record(report.labels, source, item["source_id"]) if item["kind"] == "create"
                  else _record(report.labels, "left" if side == "both" else side, item["record_id"]))
        if item["kind"] == "create":
            record = f"new, from {source} {record}"
        table.add_row(item["kind"], side, REDACTOR.redact(record), REDACTOR.redact(_detail(item)))
    if len(items) > limit:
        table.add_row("…", "", "", f"{len(items) - limit} more operations (`plan --json` lists every one)")
    return table


def summary_table(report: Report) -> Group:
    """One small table per connection: a row per figure, a column per side (fits 80 columns)."""
    s = report.summary()
    table = Table(title=f"{report.connection}: {s['status']}", title_justify="left")
    table.add_column("")
    table.add_column("left", justify="right")
    table.add_column("right", justify="right")
    verb = "planned" if s["status"] == "planned" else "done"
    for key in ("created", "updated", "tagged", "untagged"):
        row = [f"{key} ({verb})", str(s[key]["left"]), str(s[key]["right"])]
        if verb == "done" and s["planned"][key] != s[key]:
            row = [f"{key} (done / planned)", *(f"{s[key][x]} / {s['planned'][key][x]}" for x in ("left", "right"))]
        table.add_row(*row)
    table.add_row("requests", str(s["requests"]["left"]), str(s["requests"]["right"]))
    figures = (
        f"links: {s['linked']['total']} in total, {s['linked']['new']} new · skipped {s['skipped']} · "
        f"conflicts {s['conflicts']} · failed {s['failed']}"
    )
    return Group(table, Text(figures))


def done_table(report: Report, limit: int = 50) -> Table:
    """What a run changed, record by record: created with their fields, updated as `field: old → new`."""
    table = Table(title=f"what {report.connection} changed", show_lines=True)
    table.add_column("action", no_wrap=True)
    table.add_column("side", no_wrap=True)
    table.add_column("record", ratio=2, overflow="fold")
    table.add_column("detail", ratio=3, overflow="fold")
    events = [e for e in (report.outcome.events if report.outcome else []) if e["kind"] in _DONE]
    for event in events[:limit]:
        side, detail = str(event["side"]), event["detail"]
        if event["kind"] == "created":
            source = "right" if side == "left" else "left"
            who = _record(report.labels, source, str(detail.get("source_id")))
            text = "\n".join(f"{k}: {shown(v)}" for k, v in (detail.get("fields") or {}).items())
            record = f"{event['record_id']}, from {source} {who}"
        elif event["kind"] == "updated":
            record = _record(report.labels, side, str(event["record_id"]))
            text = "\n".join(f"{k}: {shown(old)} → {shown(new)}" for k, (old, new) in detail["changes"].items())
        else:
            record = _record(report.labels, side, str(event["record_id"]))
            text = f"{detail.get('tag')}: {detail.get('reason')}"
        table.add_row(event["kind"], side, REDACTOR.redact(record), REDACTOR.redact(text))
    if len(events) > limit:
        table.add_row("…", "", "", f"{len(events) - limit} more (`pairsync status` and the API keep every one)")
    return table


_DONE = ("created", "updated", "tagged", "untagged")
