"""QuickBooks Online connector: customers over the v3 API (see README.md)."""
