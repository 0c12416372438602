"""The `pairsync` command line. Exit codes: see engine/cli/exits.py (0 success, 1 failures, 2 config or usage,
75 busy, 130/143 interrupted)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli import exits, output, plan_output
from engine.cli.interrupt import exit_code, interruptible
from engine.config import ConfigError, LoadedConfig, load_config
from engine.config.models import Config, Connection
from engine.connection import prepare
from engine.errors import UserError
from engine.planner.model import SIDES
from engine.plugins import ALLOW_LIST_ENV, Registry, registry
from engine.runner import Report, plan_connection, run_connection
from engine.secrets import REDACTOR
from engine.state.store import StateStore

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Two-way sync of customer and contact records between apps.",
)

ConfigArg = Annotated[Path, typer.Argument(help="The connections file (YAML).")]
ConnectionOpt = Annotated[str | None, typer.Option("--connection", "-c", help="Only this connection.")]
JsonOpt = Annotated[bool, typer.Option("--json", metavar="", help="Print JSON: a list with one object per connection.")]
FullOpt = Annotated[bool, typer.Option("--full", metavar="", help="Ignore cursors and read both sides completely.")]


class UsageProblem(UserError):
    """A mistake on the command line (an unknown connection name)."""


def _load(path: Path) -> LoadedConfig:
    return load_config(path)


def _connections(loaded: LoadedConfig, name: str | None) -> list[Connection]:
    if name is None:
        return [c for c in loaded.config.connections if c.enabled]
    for connection in loaded.config.connections:
        if connection.name == name:
            return [connection]
    known = ", ".join(c.name for c in loaded.config.connections)
    raise UsageProblem(f"no connection named {name!r} in {loaded.path} (connections: {known})")


def _emit(reports: list[Report], as_json: bool, show_plan: bool) -> None:
    if as_json and show_plan:
        plan_output.stream_json(reports, sys.stdout)  # every operation, one a line
        return
    if as_json:
        output.print_json([r.summary() for r in reports])  # always a list, one object per connection
        return
    for report in reports:
        output.print_messages(report)
        if show_plan and report.status == "planned":
            if report.plan.operations:
                output.console.print(plan_output.plan_table(report))
            else:
                output.say(f"{report.connection}: nothing to do")
        output.console.print(plan_output.summary_table(report))


@app.command()
def connectors(as_json: JsonOpt = False) -> None:
    """List installed connectors and what each supports."""
    plugins = registry()
    rows: list[dict[str, Any]] = []
    for name, cls in sorted(plugins.connectors.items()):
        caps = cls.capabilities
        rows.append(
            {
                "name": name,
                "kind": cls.kind.value,
                "plugin": plugins.plugin_of[name],
                "change_feed": caps.change_feed.value,
                "tags": caps.tags,
                "batch_size": caps.batch_size,
                "idempotency": caps.idempotency,
                "source_of_truth": caps.source_of_truth,
                "sandbox": cls.sandbox() is not None,
                "fields": cls.schema.names(),
            }
        )
    for unknown in plugins.unknown:
        output.warn(f"{ALLOW_LIST_ENV} names no installed plugin {unknown}")
    if as_json:
        output.print_json({"connectors": rows, "failed_plugins": plugins.failed, "unknown_plugins": plugins.unknown})
        return
    from rich.table import Table

    table = Table(title="connectors")
    for column in ("name", "plugin", "kind", "change feed", "tags", "batch", "source of truth", "sandbox"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["plugin"],
            row["kind"],
            row["change_feed"],
            _yes(row["tags"]),
            str(row["batch_size"]),
            _yes(row["source_of_truth"]),
            _yes(row["sandbox"]),
        )
    output.console.print(table)
    for name, error in plugins.failed.items():
        output.warn(f"plugin {name!r} failed to load and was skipped: {error}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config file: every problem with its file, line and key."""
    loaded = _load(config)
    for warning in loaded.warnings:
        output.warn(warning)
    for connection in loaded.config.connections:
        for warning in prepare(loaded, connection, loaded.plugins or registry()).warnings:
            output.warn(warning)
    accounts, connections = len(loaded.config.accounts), len(loaded.config.connections)
    output.say(f"{config}: {_count(accounts, 'account')}, {_count(connections, 'connection')}: ok")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config file, for editor autocompletion."""
    print(json.dumps(config_schema(registry()), indent=2))


def config_schema(plugins: Registry) -> dict[str, Any]:
    """The config's JSON Schema, with each installed connector's own connection keys (such as `sync_rules`)."""
    document = Config.model_json_schema(by_alias=True)
    definitions = document.setdefault("$defs", {})
    properties = definitions["Connection"]["properties"]
    for name, cls in sorted(plugins.connectors.items()):
        if cls.connection_options is None:
            continue
        options = cls.connection_options.model_json_schema(by_alias=True)
        definitions.update(options.pop("$defs", {}))
        for key, value in options.get("properties", {}).items():
            properties.setdefault(
                key, {**value, "description": f"For a {name} side. {value.get('description', '')}".strip()}
            )
    return document


@app.command()
def plan(config: ConfigArg, connection: ConnectionOpt = None, full: FullOpt = False, as_json: JsonOpt = False) -> None:
    """Dry run: print what a run would do, writing nothing."""
    loaded = _load(config)
    store = StateStore(loaded.state_url)
    with interruptible():
        reports = [asyncio.run(plan_connection(loaded, c, store, full=full)) for c in _connections(loaded, connection)]
    _emit(reports, as_json, show_plan=True)
    if any(r.status == "error" for r in reports):
        raise typer.Exit(1)


@app.command()
def run(
    config: ConfigArg,
    connection: ConnectionOpt = None,
    full: FullOpt = False,
    force: Annotated[
        bool, typer.Option("--force", metavar="", help="Write even past the mass-change breaker.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sync: read both sides, plan, write, and remember."""
    loaded = _load(config)
    store = StateStore(loaded.state_url)
    reports: list[Report] = []
    with interruptible():
        _run_each(loaded, store, connection, full, force, as_json, reports)
    _emit(reports, as_json, show_plan=False)
    code = exits.for_runs(r.status for r in reports)
    if code:
        raise typer.Exit(code)


def _run_each(
    loaded: LoadedConfig,
    store: StateStore,
    connection: str | None,
    full: bool,
    force: bool,
    as_json: bool,
    reports: list[Report],
) -> None:
    from engine.cli import progress

    for selected in _connections(loaded, connection):
        sides = {side: loaded.side(selected, side).connector.name for side in SIDES}
        with progress.phases(sides, enabled=not as_json and sys.stderr.isatty()) as shown:
            reports.append(
                asyncio.run(run_connection(loaded, selected, store, full=full, force=force, phases=shown))
            )


@app.command()
def status(config: ConfigArg, as_json: JsonOpt = False) -> None:
    """Recent runs, linked and unlinked records, and failures waiting for a retry."""
    from engine.cli.status import show_status
    from engine.config.state_only import load_state_only

    show_status(load_state_only(config), as_json)  # the state store only: no secrets needed


@app.command()
def sandbox(
    name: Annotated[str, typer.Argument(help="Connector name.")],
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 0,
    seed: Annotated[int, typer.Option(help="Sample records to create.")] = 0,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Added to every request.")] = 0.0,
    rate_limit: Annotated[float, typer.Option("--rate-limit", help="Requests per second; 0: none.")] = 0.0,
) -> None:
    """Serve a connector's sandbox on loopback; the first line printed is its account settings as JSON."""
    from engine.sandbox import Knobs, SandboxServer

    cls = registry().connector(name)
    sandbox_class = cls.sandbox()
    if sandbox_class is None:
        raise UsageProblem(f"connector {name!r} ships no sandbox")
    server = SandboxServer(
        sandbox_class(seed=seed), port=port, knobs=Knobs(latency_ms=latency_ms, rate_limit=rate_limit)
    ).start()  # listening before the settings are printed: a reader may connect at once
    print(json.dumps({"connector": name, "base_url": server.base_url, "settings": server.settings()}), flush=True)
    server.serve_forever()


@app.command()
def demo(
    keep: Annotated[Path | None, typer.Option(help="Keep the demo's config, .env and state in this folder.")] = None,
    stay: Annotated[
        bool, typer.Option("--stay", metavar="", help="Keep the sandboxes running until Ctrl-C, to explore.")
    ] = False,
    serve: Annotated[bool, typer.Option("--serve", metavar="", help="Then serve the dashboard until Ctrl-C.")] = False,
    port: Annotated[int, typer.Option(help="Port of the dashboard with --serve (0: any free port).")] = 8787,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the dashboard in a browser.")] = True,
) -> None:
    """Start local sandboxes, seed sample customers, plan and run a two-way sync, then stop (or, with --serve,
    leave the service running with its dashboard open)."""
    if serve:
        from engine.web.demo import serve_demo

        serve_demo(keep, port, open_browser)
        return
    from engine.demo import run_demo

    run_demo(keep, stay)


@app.command()
def serve(
    config: ConfigArg,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    workers: Annotated[
        int | None, typer.Option(help="0: run no syncs here; every run becomes a job for `pairsync worker`.")
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", metavar="LEVEL", help="debug, info, warning or error (pairsync's own lines).")
    ] = "info",
    log_format: Annotated[
        str, typer.Option("--log-format", metavar="FORMAT", help="text, or json: one object per line.")
    ] = "text",
) -> None:
    """Run scheduled syncs, accept verified webhooks and serve the run-history API."""
    from engine.service import logs
    from engine.service import serve as run_service

    if log_level not in logs.LEVELS or log_format not in logs.FORMATS:
        raise UsageProblem(
            f"--log-level is one of {', '.join(logs.LEVELS)} and --log-format one of {', '.join(logs.FORMATS)}"
        )
    if workers not in (None, 0):
        raise UsageProblem("only --workers 0 is supported: start `pairsync worker` processes for the rest")
    run_service(_load(config), host, port, log_level, log_format, queued=workers == 0)


@app.command()
def worker(
    config: ConfigArg,
    concurrency: Annotated[int, typer.Option(min=1, help="Connections this worker runs at once.")] = 4,
) -> None:
    """Run queued syncs (PostgreSQL state): start any number of workers, on any machine that reaches the state."""
    from engine.queue.worker import work

    loaded = _load(config)
    work(loaded, concurrency)


@app.command()
def migrate(config: ConfigArg) -> None:
    """Create or upgrade the state's tables, and on PostgreSQL the queue's, in one step."""
    from engine.cli.scale import migrate_state

    migrate_state(_load(config))


from engine.cli.check import check as _check  # noqa: E402 - commands in their own modules, after `app`
from engine.cli.connect import connect as _connect  # noqa: E402

app.command(name="connect")(_connect)
app.command(name="check")(_check)


def main() -> None:
    """Entry point: every expected failure becomes a message and an exit code, never a traceback."""
    try:
        code = app(standalone_mode=False)  # returns the code of a typer.Exit rather than raising it
    except ConfigError as error:
        for problem in sorted(error.problems, key=lambda p: (p.file, p.line or 0)):
            output.fail(str(problem))
        sys.exit(2)
    except UserError as error:
        output.fail(str(error))
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt) as stop:
        output.fail("interrupted")
        sys.exit(exit_code(stop.__cause__ or stop))
    except Exception as error:  # noqa: BLE001 - click usage errors and anything unexpected: no traceback
        _unexpected(error)
    sys.exit(code if isinstance(code, int) else 0)


def _unexpected(error: BaseException) -> None:
    show = getattr(error, "show", None)
    if isinstance(error, typer.TyperException) and callable(show):  # typer's own click: usage errors
        show()
        sys.exit(int(getattr(error, "exit_code", 1)))
    output.fail(REDACTOR.redact(f"pairsync failed: {type(error).__name__}: {error}"))
    sys.exit(1)
