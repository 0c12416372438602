"""A local QuickBooks Online company for tests and demos (see server.py)."""

from connectors.quickbooks.sandbox.server import QuickBooksSandbox, sign

__all__ = ["QuickBooksSandbox", "sign"]
