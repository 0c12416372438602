"""Shared helpers of the reliability suite: seeding both sandboxes, reading their final state, running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import Pair

PAIRSYNC = str(Path(sys.executable).parent / "pairsync")


def seed_two_way(pair: Pair, count: int) -> None:
    """`count` people: 45% only in Stripe, 45% only in Google, 10% in both under the same email."""
    shared = count // 10
    only = (count - shared) // 2
    for i in range(only):
        pair.stripe.add_record({"name": f"Stripe Person{i}", "email": f"s{i}@example.com", "phone": f"+1555100{i:04d}"})
    for i in range(count - shared - only):
        person = {"givenName": "Google", "familyName": f"Person{i}", "email": f"g{i}@example.com"}
        pair.google.add_record({**person, "phone": f"+1555200{i:04d}"})
    for i in range(shared):
        pair.stripe.add_record({"name": f"Both Person{i}", "email": f"b{i}@example.com"})
        pair.google.add_record({"givenName": "Both", "familyName": f"Person{i}", "email": f"b{i}@example.com"})


def stripe_state(pair: Pair) -> list[tuple[Any, ...]]:
    return sorted((r.get("email"), r.get("name"), r.get("phone")) for r in pair.stripe.records())


def google_state(pair: Pair) -> list[tuple[Any, ...]]:
    return sorted(
        (r.get("email"), r.get("givenName"), r.get("familyName"), r.get("phone")) for r in pair.google.records()
    )


def duplicates(state: list[tuple[Any, ...]]) -> dict[Any, int]:
    """Emails held by more than one record of a side."""
    return {email: n for email, n in Counter(row[0] for row in state).items() if n > 1}


def cli_env(pair: Pair) -> dict[str, str]:
    return {**os.environ, **pair.secrets(), "COLUMNS": "200"}


def start_run(pair: Pair, config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PAIRSYNC, "run", str(config), "--json"],
        env=cli_env(pair),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(pair: Pair, config: Path, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    """One complete `pairsync run --json`: exit code, the JSON summary (None if not printed), stderr."""
    done = subprocess.run(
        [PAIRSYNC, "run", str(config), "--json", *args], env=cli_env(pair), capture_output=True, text=True, timeout=300
    )
    printed = json.loads(done.stdout) if done.stdout.strip().startswith("[") else None
    summary = printed[0] if printed else None
    return done.returncode, summary, done.stdout + done.stderr


def summary_counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: summary[k] for k in ("created", "updated", "tagged", "failed")}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
