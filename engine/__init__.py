"""pairsync engine: plugin loading, config, planning, execution and state."""

from engine.hookspecs import hookimpl

__all__ = ["hookimpl"]
