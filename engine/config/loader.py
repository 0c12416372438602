"""Reading a config file: YAML, `${VAR}` references, the models, then each connector's own settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

import yaml
from pydantic import ValidationError

from engine.config.bounds import TooLarge, check_bounds
from engine.config.errors import ConfigError, Problem, ProblemList, suggest
from engine.config.loaded import AccountSetup, LoadedConfig
from engine.config.locations import Locations, Path, locate
from engine.config.models import Config, Connection
from engine.config.secrets import inline_secrets
from engine.config.yaml_messages import plain
from engine.plugin_files import with_files
from engine.plugins import Registry, registry
from engine.secrets import UnsetVariable, expand

SIDES = ("left", "right")


def load_config(
    path: str | FilePath, plugins: Registry | None = None, environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Read and validate a config file; every problem found is raised together as ConfigError."""
    path = FilePath(path)
    text = _read(path)
    try:
        check_bounds(text)
        locations = locate(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError([Problem(str(path), line, "", f"not valid YAML: {plain(reason)}")]) from None
    except TooLarge as error:
        raise ConfigError([Problem(str(path), error.line, "", str(error))]) from None
    problems = ProblemList(str(path), locations)
    for dup_path, _line in locations.duplicates:
        problems.add(dup_path, "this key appears twice in the same block; keep one")
    if not isinstance(data, dict):
        empty = "the file is empty; " if data is None else ""
        problems.add((), f"{empty}expected a mapping with `accounts` and `connections`")
        problems.raise_if_any()
    referenced: set[Path] = set()
    data = _expand(data, (), problems, environ, referenced=referenced)
    problems.raise_if_any()
    plugins = _with_plugin_files(path, data.get("plugins"), plugins or registry(), problems)
    loaded = _validate(path, data, locations, problems, plugins)
    loaded.plugins = plugins
    loaded.warnings.extend(inline_secrets(loaded, locations, referenced))
    return loaded


def _with_plugin_files(path: FilePath, listed: Any, plugins: Registry, problems: ProblemList) -> Registry:
    """The registry plus the config's own plugin files (relative to the config); each broken one a problem
    at its own file and line, the others still loaded."""
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed) or not listed:
        return plugins  # a wrong shape is reported by the model
    merged, faults = with_files(plugins, [path.parent / item for item in listed])
    for fault in faults:
        hint = (
            f"the plugin file listed under `plugins` in {path.name} failed to load; fix it or remove it from the list"
        )
        problems.problems.append(Problem(fault.file, fault.line, "", f"{fault.message} ({hint})"))
    return merged


def _read(path: FilePath) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([Problem(str(path), None, "", f"cannot read the file: {error.strerror}")]) from None
    except UnicodeDecodeError as error:
        reason = f"cannot read the file: not UTF-8 text (byte {error.start})"
        raise ConfigError([Problem(str(path), None, "", reason)]) from None


def _expand(
    value: Any,
    path: Path,
    problems: ProblemList,
    environ: Mapping[str, str] | None,
    outer: frozenset[int] = frozenset(),
    referenced: set[Path] | None = None,
) -> Any:
    """Expand `${VAR}` in every string; a YAML alias that contains itself is an error, not endless recursion."""
    if isinstance(value, dict | list) and id(value) in outer:
        problems.add(path, "this value contains itself (a YAML alias inside its own anchor)")
        return None
    inner = outer | {id(value)}
    if isinstance(value, dict):
        return {k: _expand(v, (*path, k), problems, environ, inner, referenced) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*path, i), problems, environ, inner, referenced) for i, v in enumerate(value)]
    if isinstance(value, str):
        if referenced is not None and "${" in value:
            referenced.add(path)
        try:
            return expand(value, environ)
        except UnsetVariable as unset:
            problems.add(path, f"environment variable {unset.name} is not set; export it or change the reference")
    return value


def _validate(
    path: FilePath, data: dict[str, Any], locations: Locations, problems: ProblemList, plugins: Registry
) -> LoadedConfig:
    options_raw = _pop_connector_options(data, plugins, problems)
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        problems.add_validation(error, (), data, Config)
        problems.raise_if_any()
        raise  # pragma: no cover - raise_if_any always raises here
    accounts = _accounts(config, plugins, problems)
    loaded = LoadedConfig(path=path, config=config, accounts=accounts)
    for index, connection in enumerate(config.connections):
        _check_connection(index, connection, loaded, options_raw.get(index, {}), problems, plugins)
    problems.raise_if_any()
    return loaded


def _pop_connector_options(
    data: dict[str, Any], plugins: Registry, problems: ProblemList
) -> dict[int, dict[str, Any]]:
    """Move connector-specific connection keys (such as `sync_rules`) out of the core model's way."""
    raw_accounts = data.get("accounts")
    accounts: dict[str, Any] = raw_accounts if isinstance(raw_accounts, dict) else {}
    popped: dict[int, dict[str, Any]] = {}
    connections = data.get("connections")
    if not isinstance(connections, list):
        return popped
    for index, connection in enumerate(connections):
        if not isinstance(connection, dict):
            continue
        keys: set[str] = set()
        for side in SIDES:
            name = connection.get(side)
            account = accounts.get(name) if isinstance(name, str) else None
            connector = account.get("connector") if isinstance(account, dict) else None
            cls = plugins.connectors.get(connector) if isinstance(connector, str) else None
            if cls is None:  # the account is reported already; do not add "unknown key" for its options
                keys |= _all_option_keys(plugins)
            elif cls.connection_options is not None:
                keys |= set(cls.connection_options.model_fields)
        popped[index] = {key: connection.pop(key) for key in sorted(keys) if key in connection}
        problems.more_keys[("connections", index)] = sorted(keys)  # named by "unknown key" messages too
    return popped


def _all_option_keys(plugins: Registry) -> set[str]:
    return {
        key
        for cls in plugins.connectors.values()
        if cls.connection_options
        for key in cls.connection_options.model_fields
    }


def _accounts(config: Config, plugins: Registry, problems: ProblemList) -> dict[str, AccountSetup]:
    accounts: dict[str, AccountSetup] = {}
    for name, account in config.accounts.items():
        cls = plugins.connectors.get(account.connector)
        if cls is None:
            installed = ", ".join(sorted(plugins.connectors))
            problems.add(
                ("accounts", name, "connector"),
                f"no connector named {account.connector!r}{suggest(account.connector, plugins.connectors)}"
                f" (installed: {installed})",
            )
            continue
        try:
            settings = cls.settings_model.model_validate(account.settings)
        except ValidationError as error:
            problems.add_validation(error, ("accounts", name, "settings"), account.settings, cls.settings_model)
            continue
        accounts[name] = AccountSetup(name=name, connector=cls, settings=settings)
    return accounts


def _check_connection(
    index: int,
    connection: Connection,
    loaded: LoadedConfig,
    raw_options: dict[str, Any],
    problems: ProblemList,
    plugins: Registry,
) -> None:
    at: Path = ("connections", index)
    names = list(loaded.config.accounts)
    for side in SIDES:
        account = getattr(connection, side)
        if account not in loaded.config.accounts:
            problems.add(
                (*at, side),
                f"no account named {account!r}{suggest(account, names)} "
                + (f"(accounts: {', '.join(names)})" if names else "(no accounts are defined under `accounts`)"),
            )
    if problems.problems:
        return
    if connection.left == connection.right:
        problems.add((*at, "right"), "left and right name the same account; a connection joins two accounts")
    loaded.options[connection.name] = {}
    for side in SIDES:
        setup = loaded.side(connection, side)
        model = setup.connector.connection_options
        if model is None:
            loaded.options[connection.name][side] = None
            continue
        subset = {k: v for k, v in raw_options.items() if k in model.model_fields}
        try:
            loaded.options[connection.name][side] = model.model_validate(subset)
        except ValidationError as error:
            problems.add_validation(error, at, subset, model)
    from engine.connection import check_connection  # here: engine.connection builds on this module

    accounts = {side: loaded.side(connection, side) for side in SIDES}
    for path, message in check_connection(connection, accounts, plugins):  # type: ignore[arg-type]
        problems.add((*at, *path), message)
