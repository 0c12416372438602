"""The pairsync plugin entry point for Stripe: registers the connector and its plan condition operators."""

from __future__ import annotations

from collections.abc import Callable

from engine.connector import Connector
from engine.hookspecs import hookimpl

from .conditions import register_condition_ops
from .connector import StripeConnector

__all__ = ["register_condition_ops", "register_connectors"]


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    register(StripeConnector)
