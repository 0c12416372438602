"""The pairsync plugin entry point of the Google Contacts connector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.google_contacts.connector import GoogleContactsConnector
from engine.hookspecs import hookimpl


@hookimpl
def register_connectors(register: Callable[[type[Any]], None]) -> None:
    register(GoogleContactsConnector)
