"""The benchmark table for people and the JSON document for machines."""

from __future__ import annotations

import datetime as dt
import os
import platform
from typing import Any

from rich.console import Console
from rich.table import Table

Result = dict[str, Any]
SKIP = {"id", "name", "size", "target", "met", "note"}


def machine() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def b2_consistency(results: list[Result]) -> list[Result]:
    """B2's second target: the requests of each incremental or quiet run do not grow with the size."""
    by_name: dict[str, list[Result]] = {}
    for result in results:
        if result["id"] == "B2" and result.get("deterministic") and isinstance(result.get("requests"), dict):
            by_name.setdefault(result["name"], []).append(result)
    return [_spread(name, runs) for name, runs in by_name.items() if len(runs) >= 2]


def _spread(name: str, runs: list[Result]) -> Result:
    totals = [sum(r["requests"].values()) for r in runs]
    spread = max(totals) / max(min(totals), 1) - 1
    return {
        "id": "B2",
        "name": f"{name}: requests across sizes",
        "size": "/".join(str(r["size"]) for r in runs),
        "request_totals": totals,
        "spread": round(spread, 3),
        "target": "same within 20%",
        "met": spread <= 0.2,
    }


def document(results: list[Result], knobs: dict[str, str]) -> dict[str, Any]:
    return {"machine": machine(), "knobs": knobs, "results": results}


def print_table(doc: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(width=140)
    info = doc["machine"]
    console.print(f"pairsync benchmarks, {info['date']}, {info['cpus']} CPUs, {info['platform']}")
    console.print(f"Python {info['python']}")
    for name, value in doc["knobs"].items():
        console.print(f"  {name}: {value}")
    table = Table()
    for column in ("bench", "size", "measured", "target", "met"):
        table.add_column(column)
    for result in doc["results"]:
        measured = ", ".join(f"{k}={_fmt(v)}" for k, v in result.items() if k not in SKIP)
        bench = f"{result['id']} {result['name']}"  # B2 has several runs: the name tells them apart
        table.add_row(bench, str(result["size"]), measured, result["target"], "yes" if result["met"] else "NO")
    console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return "/".join(f"{k}:{v}" for k, v in value.items())
    return str(value)
