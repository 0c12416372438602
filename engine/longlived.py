"""A run's records live as long as the run, so the cyclic collector need not scan them again and again.

A run holds every record it read, and the plan made from them, until it ends. CPython's full collection
scans every tracked object, and it comes round whenever the objects that survived grow by a quarter: at
10,000 records about ten full passes a run, at 100,000 a dozen of seconds each. Each one stops the whole
process, the write pipeline included, and a target that takes one paced request at a time cannot make up
a late batch. Freezing moves the objects alive now out of the collector's reach (a constant-time splice);
reference counting still frees them when the run lets go of them, and when the last run in the process
ends they are handed back to the collector, with any cycles that became garbage meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_running = 0  # runs in this process (the service runs several at once)


@contextmanager
def run_scope() -> Iterator[None]:
    """While a run lasts, `settle()` may freeze what is alive; the last run to end unfreezes it."""
    global _running
    _running += 1
    try:
        yield
    finally:
        _running -= 1
        if _running == 0:
            gc.unfreeze()


def settle() -> None:
    """Everything alive now lives until the run ends (records read, the plan): stop scanning it."""
    if _running:
        gc.freeze()
