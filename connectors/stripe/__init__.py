"""Stripe connector: customers with subscription-derived fields, events-based sync and a sandbox."""

from .connector import StripeConnector
from .rules import StripeConnectionOptions
from .settings import StripeSettings

__all__ = ["StripeConnectionOptions", "StripeConnector", "StripeSettings"]
