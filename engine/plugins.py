"""Loading plugins from the `pairsync` entry-point group into one registry.

Built-in connectors come through the same entry points as third-party ones.
A plugin that fails to import is reported by name and skipped; two
connectors with one name are an error that names both plugins.
"""

from __future__ import annotations

import difflib
import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pluggy

from engine import hookspecs
from engine.connector import Connector, check_connector_class
from engine.errors import UserError

ENTRY_POINT_GROUP = "pairsync"
ALLOW_LIST_ENV = "PAIRSYNC_PLUGINS"


class PluginError(UserError):
    """A plugin problem the user must fix (duplicate names, bad classes)."""


@dataclass
class Registry:
    connectors: dict[str, type[Connector]] = field(default_factory=dict)
    transforms: dict[str, Callable[..., Any]] = field(default_factory=dict)
    condition_ops: dict[str, Callable[[Any, Any], bool]] = field(default_factory=dict)
    mapping_dirs: list[Path] = field(default_factory=list)
    plugin_of: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    failed_at: dict[str, int] = field(default_factory=dict)  # the line of the plugin's own file, when known
    unknown: list[str] = field(default_factory=list)
    """Names in PAIRSYNC_PLUGINS that no installed plugin has (a typo loads nothing and says nothing else)."""

    def connector(self, name: str) -> type[Connector]:
        try:
            return self.connectors[name]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none"
            raise PluginError(f"no connector named {name!r} (installed: {known})") from None


def _allowed() -> set[str] | None:
    value = os.environ.get(ALLOW_LIST_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def make_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("pairsync")
    manager.add_hookspecs(hookspecs)
    return manager


def load_plugins(
    manager: pluggy.PluginManager,
    failed: dict[str, str],
    entries: Iterable[EntryPoint] | None = None,
    unknown: list[str] | None = None,
) -> None:
    """Register every allowed entry point (installed ones unless `entries` is given); a broken one is
    recorded in `failed`, not raised; allow-list names matching no entry point go to `unknown`."""
    allowed = _allowed()
    found = list(entry_points(group=ENTRY_POINT_GROUP) if entries is None else entries)
    if allowed is not None and unknown is not None:
        names = sorted({entry.name for entry in found})
        for name in sorted(allowed - set(names)):
            unknown.append(f"{name!r}{suggest(name, names)} (installed plugins: {', '.join(names) or 'none'})")
    for entry in found:
        if allowed is not None and entry.name not in allowed:
            continue
        try:
            module = entry.load()
            manager.register(module, name=entry.name)
        except Exception as error:  # noqa: BLE001 - any import error of a plugin is reported, not fatal
            failed[entry.name] = f"{type(error).__name__}: {error}"
    manager.check_pending()


def build_registry(manager: pluggy.PluginManager, failed: dict[str, str] | None = None) -> Registry:
    """Collect what every registered plugin registers."""
    registry = Registry(failed=dict(failed or {}))
    named = [(manager.get_name(plugin) or repr(plugin), plugin) for plugin in manager.get_plugins()]
    for plugin_name, plugin in sorted(named, key=lambda item: item[0]):  # a set: sort for stable messages
        _collect(manager, plugin, plugin_name, registry)
    return registry


def _collect(manager: pluggy.PluginManager, plugin: object, plugin_name: str, registry: Registry) -> None:
    def add_connector(cls: type[Connector]) -> None:
        check_connector_class(cls)
        if cls.name in registry.connectors and registry.connectors[cls.name] is not cls:
            raise PluginError(
                f"two connectors are named {cls.name!r}: one from plugin {registry.plugin_of[cls.name]!r}, "
                f"one from plugin {plugin_name!r}; uninstall one of them or disable it with {ALLOW_LIST_ENV}"
            )
        registry.connectors[cls.name] = cls
        registry.plugin_of[cls.name] = plugin_name

    def add_transform(name: str, function: Callable[..., Any]) -> None:
        registry.transforms[name] = function

    def add_op(name: str, function: Callable[[Any, Any], bool]) -> None:
        registry.condition_ops[name] = function

    def add_mapping_dir(path: str) -> None:
        registry.mapping_dirs.append(Path(path))

    for hook_name, callback in (
        ("register_connectors", add_connector),
        ("register_transforms", add_transform),
        ("register_condition_ops", add_op),
        ("register_mappings", add_mapping_dir),
    ):
        implementation = getattr(plugin, hook_name, None)
        if implementation is None or manager.parse_hookimpl_opts(plugin, hook_name) is None:
            continue
        try:
            implementation(register=callback)
        except PluginError:
            raise
        except Exception as error:  # noqa: BLE001 - a raising hook fails its plugin alone, reported by name
            registry.failed[plugin_name] = f"{hook_name} raised {type(error).__name__}: {error}"
            line = line_of(error, getattr(plugin, "__file__", None))
            if line is not None:
                registry.failed_at[plugin_name] = line


def line_of(error: BaseException, path: str | Path | None) -> int | None:
    """The line of file `path` where `error` was raised (its innermost frame in that file), if any."""
    if path is None:
        return None
    target = Path(path).resolve()
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == target]
    return lines[-1] if lines else None


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The registry of every installed plugin, loaded once per process."""
    manager = make_manager()
    failed: dict[str, str] = {}
    unknown: list[str] = []
    load_plugins(manager, failed, unknown=unknown)
    loaded = build_registry(manager, failed)
    loaded.unknown = unknown
    return loaded
