"""Mailchimp (Marketing API v3) connector for pairsync: an audience's members, with a real unsubscribe signal."""

from connectors.mailchimp.connector import MailchimpConnector
from connectors.mailchimp.settings import MailchimpSettings

__all__ = ["MailchimpConnector", "MailchimpSettings"]
