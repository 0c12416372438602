"""The API keys, client secrets and refresh tokens of a run never show in its output, errors or run history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.harness import Pair
from tests.reliability.helpers import run_cli, seed_two_way

# Run history and journal only: the credentials table is where rotated tokens are meant to be kept.
HISTORY_TABLES = ("runs", "run_events", "retries", "journal", "links", "seen_records", "cursors", "locks")


def history_text(config: Path) -> str:
    with sqlite3.connect(config.parent / ".pairsync" / "state.db") as db:
        return "\n".join(str(row) for table in HISTORY_TABLES for row in db.execute(f"SELECT * FROM {table}"))


def leaked(secrets: dict[str, str], *texts: str) -> list[str]:
    return [name for name, value in secrets.items() for text in texts if value in text]


def test_a_run_with_failures_prints_and_stores_no_secret(tmp_path: Path) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 40)
        pair.stripe.add_record({"name": "Bad Phone", "email": "bad@example.com", "phone": "not a phone"})
        for server in pair.servers.values():
            server.knobs.faults = {"500": 0.2}
        config = pair.write_config()
        runs = [run_cli(pair, config), run_cli(pair, config, "--full")]
        for code, summary, output in runs:
            assert code == 1 and summary is not None and summary["failed"], f"the run had no failure: {output}"
        with sqlite3.connect(config.parent / ".pairsync" / "state.db") as db:
            failed = db.execute("SELECT count(*) FROM run_events WHERE kind = 'failed'").fetchone()[0]
        assert failed > 0, "the failures (and their error texts) are in the run history the check reads"
        history = history_text(config)
        secrets = pair.secrets()
        assert leaked(secrets, *(output for _code, _summary, output in runs), history) == []


@pytest.mark.parametrize("wrong", ["BENCH_STRIPE_KEY", "BENCH_GOOGLE_SECRET", "BENCH_GOOGLE_REFRESH"])
def test_a_rejected_secret_is_not_echoed(tmp_path: Path, wrong: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with Pair(tmp_path, retry_wait_s=0.01) as pair:
        seed_two_way(pair, 10)
        config = pair.write_config()
        bad = "sk_test_" + "wrongwrongwrong1234" if wrong == "BENCH_STRIPE_KEY" else "wrong-secret-value-5678"
        secrets = {**pair.secrets(), wrong: bad}
        monkeypatch.setattr(Pair, "secrets", lambda _self: secrets)
        code, summary, output = run_cli(pair, config)
        assert code == 1 and summary is not None and summary["status"] == "error", output
        assert leaked(secrets, output, history_text(config)) == []


def test_a_failed_run_exits_non_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Pair(tmp_path) as pair:
        config = pair.write_config()
        secrets = {**pair.secrets(), "BENCH_STRIPE_KEY": "sk_test_rejectedrejected0000"}
        monkeypatch.setattr(Pair, "secrets", lambda _self: secrets)
        code, summary, output = run_cli(pair, config)
        assert summary is not None and summary["status"] == "error", output
        assert code == 1
