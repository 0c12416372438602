"""The pairsync plugin entry point of the Mailchimp connector."""

from __future__ import annotations

from collections.abc import Callable

from connectors.mailchimp.connector import MailchimpConnector
from engine.connector import Connector
from engine.hookspecs import hookimpl


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    register(MailchimpConnector)
