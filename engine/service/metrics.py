"""Prometheus metrics of one service, in their own registry (several services may share a process in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from engine.planner.model import SIDES
from engine.runner import Report, Session

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "pairsync_runs",
            "Runs by outcome (busy: another run held the connection).",
            ["connection", "trigger", "status"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "pairsync_run_seconds", "Duration of finished runs.", ["connection"], registry=self.registry
        )
        self.written = Counter(
            "pairsync_records_written",
            "Records written, per side and kind (created, updated, tagged, untagged).",
            ["connection", "side", "kind"],
            registry=self.registry,
        )
        self.failures = Counter(
            "pairsync_record_failures",
            "Records whose write failed (retried next run).",
            ["connection"],
            registry=self.registry,
        )
        self.api_requests = Counter(
            "pairsync_api_requests", "Requests sent to the apps' APIs.", ["connection", "side"], registry=self.registry
        )
        self.rate_limit_waits = Counter(
            "pairsync_rate_limit_waits",
            "Times an app answered 429 and the run waited.",
            ["connection", "side"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "pairsync_webhook_events",
            "Webhook deliveries by result (accepted, rejected, duplicate, ignored).",
            ["account", "result"],
            registry=self.registry,
        )

    def record_run(self, trigger: str, report: Report, seconds: float, session: Session | None) -> None:
        name = report.connection
        self.runs.labels(name, trigger, report.status).inc()
        if report.status == "busy":
            return
        self.run_seconds.labels(name).observe(seconds)
        for side in SIDES:
            self.api_requests.labels(name, side).inc(report.requests.get(side, 0))
        if session is not None:
            for side in SIDES:
                self.rate_limit_waits.labels(name, side).inc(session.contexts[side].rate_limit_waits)
        outcome = report.outcome
        if outcome is None:
            return
        for kind, counts in (
            ("created", outcome.created),
            ("updated", outcome.updated),
            ("tagged", outcome.tagged),
            ("untagged", outcome.untagged),
        ):
            for side in SIDES:
                self.written.labels(name, side, kind).inc(counts[side])
        self.failures.labels(name).inc(outcome.failed)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
