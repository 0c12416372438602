"""The whole plugin API of pairsync. Each hook receives a `register` callback.

A plugin is a module listed under the `pairsync` entry-point group that
implements any of these hooks with `@engine.hookimpl`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("pairsync")
hookimpl = pluggy.HookimplMarker("pairsync")


@hookspec
def register_connectors(register: Callable[[type[Any]], None]) -> None:
    """Register connector classes (subclasses of engine.connector.Connector)."""


@hookspec
def register_transforms(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register named value transforms that mapping entries refer to."""


@hookspec
def register_condition_ops(register: Callable[[str, Callable[[Any, Any], bool]], None]) -> None:
    """Register IF-condition operators: op(field_value, configured_value) -> bool."""


@hookspec
def register_mappings(register: Callable[[str], None]) -> None:
    """Register folders holding default field mappings for app pairs (`<left>__<right>.yaml`)."""
