"""`pairsync check CONFIG`: talk to each app and prove the credentials and every permission the config needs.

`validate` stays offline; `check` makes a few cheap requests per account (the connector declares which,
in `Connector.check`). Exit 0 when every enabled connection can run, 1 otherwise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from engine.cli import output
from engine.config import LoadedConfig, load_config
from engine.config.loaded import AccountSetup
from engine.connector import ConnectorContext, PermissionCheck
from engine.secrets import REDACTOR
from engine.state.accounts import AccountHealth
from engine.state.store import StateStore


@dataclass
class AccountReport:
    setup: AccountSetup
    health: AccountHealth
    checks: list[PermissionCheck] = field(default_factory=list)

    @property
    def can_run(self) -> bool:
        return self.health.ok and all(c.ok for c in self.checks if c.required)

    def to_json(self, config: str) -> dict[str, Any]:
        return {
            "account": self.setup.name,
            "connector": self.setup.connector.name,
            "can_run": self.can_run,
            "health": self.health.to_json(config),
            "checks": [
                {"name": c.name, "ok": c.ok, "required": c.required, "cost": c.cost, "fix": _fix(c, config),
                 "detail": c.detail}
                for c in self.checks
            ],
        }


def check(
    config: Annotated[Path, typer.Argument(help="The connections file (YAML).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Prove each account's credentials and permissions against the apps; exit 1 if a connection cannot run."""
    loaded = load_config(config)
    store = StateStore(loaded.state_url)
    reports = [asyncio.run(_check_account(loaded, store, name)) for name in _used_accounts(loaded)]
    by_name = {r.setup.name: r for r in reports}
    connections = {
        c.name: by_name[c.left].can_run and by_name[c.right].can_run for c in loaded.config.connections if c.enabled
    }
    if as_json:
        output.print_json({
            "accounts": [r.to_json(str(loaded.path)) for r in reports],
            "connections": connections,
            "ok": all(connections.values()),
        })
    else:
        _show(reports, connections, str(loaded.path))
    if not all(connections.values()):
        raise typer.Exit(1)


def _used_accounts(loaded: LoadedConfig) -> list[str]:
    used = {name for c in loaded.config.connections if c.enabled for name in (c.left, c.right)}
    return sorted(used)


def _writes_into(loaded: LoadedConfig, account: str) -> bool:
    """Whether an enabled connection writes records into this account (its direction and modes)."""
    for connection in loaded.config.connections:
        if not connection.enabled:
            continue
        for side, name in (("left", connection.left), ("right", connection.right)):
            if name == account and connection.resolved_direction.writes(side):
                return True
    return False


async def _check_account(loaded: LoadedConfig, store: StateStore, name: str) -> AccountReport:
    setup = loaded.accounts[name]
    report = AccountReport(setup, store.account_health(name))
    context = ConnectorContext(
        name, lambda key: store.credential(name, key), lambda key, value: store.save_credential(name, key, value)
    )
    connector = setup.connector(setup.settings, context)
    try:
        report.checks = await connector.check(_writes_into(loaded, name))
    except Exception as error:  # noqa: BLE001 - an app that does not answer is this account's result
        if connector.auth_failure(error):
            report.checks = [PermissionCheck("credentials", False, cost="nothing syncs", detail=_said(error),
                                             fix=f"run `pairsync connect <config> {name}`")]
        else:
            report.checks = [PermissionCheck("reach the app", False, cost="nothing syncs", detail=_said(error),
                                             fix="see the detail; check base_url and the network")]
    finally:
        await connector.aclose()
    return report


def _fix(check_: PermissionCheck, config: str) -> str:
    return check_.fix.replace("<config>", config)


def _said(error: BaseException) -> str:
    return REDACTOR.redact(f"{type(error).__name__}: {error}")[:500]


def _show(reports: list[AccountReport], connections: dict[str, bool], config: str) -> None:
    table = Table(title="check")
    for column in ("account", "check", "result", "what it costs", "how to fix"):
        table.add_column(column)
    for report in reports:
        if not report.health.ok:
            table.add_row(report.setup.name, "account status", report.health.status, "the connections pause",
                          f"run `{report.health.fix(config)}`")
        for item in report.checks:
            result = "OK" if item.ok else ("missing" if item.required else "missing (optional)")
            table.add_row(report.setup.name, item.name, result, item.cost, _fix(item, config))
    output.console.print(table)
    for name, can_run in connections.items():
        if not can_run:
            output.fail(f"connection {name}: cannot run until the missing permissions above are granted")
