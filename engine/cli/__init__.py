"""The `pairsync` command line. Exit codes: 0 success, 1 the run had failures, 2 bad config or usage."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TaskID

from engine.cli import output
from engine.config import ConfigError, LoadedConfig, load_config
from engine.config.models import Config, Connection
from engine.connection import prepare
from engine.errors import UserError
from engine.plugins import Registry, registry
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
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object (a list for several connections).")]
FullOpt = Annotated[bool, typer.Option("--full", help="Ignore cursors and read both sides completely.")]


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
    if as_json:
        data: Any = [r.summary() for r in reports]
        output.print_json(data[0] if len(data) == 1 else data)
        return
    for report in reports:
        output.print_messages(report)
        if show_plan and report.plan.operations:
            output.console.print(output.plan_table(report.plan))
        elif show_plan:
            output.say(f"{report.connection}: nothing to do")
    output.console.print(output.summary_table(reports))


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
    if as_json:
        output.print_json({"connectors": rows, "failed_plugins": plugins.failed})
        return
    from rich.table import Table

    table = Table(title="connectors")
    for column in ("name", "kind", "change feed", "tags", "batch", "source of truth", "sandbox"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
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


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config file: every problem with its file, line and key."""
    loaded = _load(config)
    for connection in loaded.config.connections:
        for warning in prepare(loaded, connection, registry()).warnings:
            output.warn(warning)
    output.say(f"{config}: {len(loaded.config.accounts)} accounts, {len(loaded.config.connections)} connections: ok")


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
    reports = [asyncio.run(plan_connection(loaded, c, store, full=full)) for c in _connections(loaded, connection)]
    _emit(reports, as_json, show_plan=True)
    if any(r.status == "error" for r in reports):
        raise typer.Exit(1)


@app.command()
def run(
    config: ConfigArg,
    connection: ConnectionOpt = None,
    full: FullOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Write even past the mass-change breaker.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sync: read both sides, plan, write, and remember."""
    loaded = _load(config)
    store = StateStore(loaded.state_url)
    reports = []
    for selected in _connections(loaded, connection):
        with Progress(transient=True, disable=as_json or not sys.stderr.isatty(), console=output.errors) as bar:
            task = bar.add_task(f"{selected.name}", total=None)

            def advance(count: int, bar: Progress = bar, task: TaskID = task) -> None:
                bar.advance(task, count)

            reports.append(
                asyncio.run(run_connection(loaded, selected, store, full=full, force=force, progress=advance))
            )
    _emit(reports, as_json, show_plan=False)
    if any(r.status != "ok" for r in reports):
        raise typer.Exit(1)


@app.command()
def status(config: ConfigArg, as_json: JsonOpt = False) -> None:
    """Recent runs, linked and unlinked records, and failures waiting for a retry."""
    from engine.cli.status import show_status

    show_status(_load(config), as_json)


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
    )
    print(json.dumps({"connector": name, "base_url": server.base_url, "settings": server.settings()}), flush=True)
    server.serve_forever()


@app.command()
def demo(
    keep: Annotated[Path | None, typer.Option(help="Keep the demo folder here.")] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the dashboard until Ctrl-C.")] = False,
    port: Annotated[int, typer.Option(help="Port of the dashboard with --serve.")] = 8787,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the dashboard in a browser.")] = True,
) -> None:
    """Start local sandboxes, seed sample customers, plan and run a two-way sync, then stop (or, with --serve,
    leave the service running with its dashboard open)."""
    if serve:
        from engine.web.demo import serve_demo

        serve_demo(keep, port, open_browser)
        return
    from engine.demo import run_demo

    run_demo(keep)


@app.command()
def serve(
    config: ConfigArg,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
) -> None:
    """Run scheduled syncs, accept verified webhooks and serve the run-history API."""
    from engine.service import serve as run_service

    run_service(_load(config), host, port)


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
    except (typer.Abort, KeyboardInterrupt):
        output.fail("interrupted")
        sys.exit(130)
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
