"""Entry point `quickbooks` of the `pairsync` group: registers the QuickBooks connector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.quickbooks.connector import QuickBooksConnector
from engine.hookspecs import hookimpl


@hookimpl
def register_connectors(register: Callable[[type[Any]], None]) -> None:
    register(QuickBooksConnector)
