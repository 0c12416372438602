"""A user's own plugin files, listed under `plugins:` in the config: hooks without packaging.

Each file is imported as a module and registered like an installed plugin,
so `transforms.py` beside `pairsync.yaml` can hold a decorated
`register_transforms`. These files are code the user runs, trusted as the
config is; they get no sandbox. A file that does not import, or whose hook
raises, is a fault naming the file and line; the other files still load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from engine.plugins import Registry, build_registry, line_of, make_manager


@dataclass(frozen=True)
class Fault:
    """Why one plugin file was not (wholly) loaded, and where."""

    file: str
    line: int | None
    message: str


def with_files(base: Registry, files: Sequence[Path]) -> tuple[Registry, list[Fault]]:
    """`base` plus what the plugin `files` register; faults for the files that failed, in file order."""
    manager = make_manager()
    faults: list[Fault] = []
    for path in files:
        module = _import(path, faults)
        if module is not None:
            manager.register(module, name=f"file:{path}")
    failed: dict[str, str] = {}
    own = build_registry(manager, failed)
    for name, message in sorted(own.failed.items()):
        faults.append(Fault(name.removeprefix("file:"), own.failed_at.get(name), message))
    clashes = sorted(set(own.connectors) & set(base.connectors))
    for name in clashes:
        faults.append(Fault(own.plugin_of[name].removeprefix("file:"), None, f"a connector named {name!r} exists"))
    merged = replace(
        base,
        connectors={**own.connectors, **base.connectors},
        transforms={**base.transforms, **own.transforms},
        condition_ops={**base.condition_ops, **own.condition_ops},
        mapping_dirs=[*base.mapping_dirs, *own.mapping_dirs],
        plugin_of={**own.plugin_of, **base.plugin_of},
    )
    return merged, faults


def _import(path: Path, faults: list[Fault]) -> ModuleType | None:
    """The file as a module under a name of its own; None (and a fault) when it does not import."""
    if not path.is_file():
        faults.append(Fault(str(path), None, "no such file"))
        return None
    name = "pairsync_plugin_file_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        faults.append(Fault(str(path), None, "not a Python file"))
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(name, None)
        faults.append(Fault(str(path), error.lineno, f"SyntaxError: {error.msg}"))
        return None
    except Exception as error:  # noqa: BLE001 - any error of a user's file is reported, not fatal
        sys.modules.pop(name, None)
        faults.append(Fault(str(path), line_of(error, path), f"{type(error).__name__}: {error}"))
        return None
    return module
