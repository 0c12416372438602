"""The pairsync plugin entry point for Stripe: registers the connector."""

from __future__ import annotations

from collections.abc import Callable

from engine.connector import Connector
from engine.hookspecs import hookimpl

from .connector import StripeConnector


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    register(StripeConnector)
