"""Google Contacts (People API v1) connector for pairsync."""

from connectors.google_contacts.connector import GoogleContactsConnector
from connectors.google_contacts.settings import GoogleContactsSettings

__all__ = ["GoogleContactsConnector", "GoogleContactsSettings"]
