"""The lower bound a run cannot beat, from the requests each side needs and what the sandboxes allow.

A phase (reading one side, writing one side) takes at least the longer of
its requests at the allowed rate and its chain of requests that must go one
after another (pages that follow a cursor, writes the API wants sequential)
times the per-request latency. Both sides can be read at once and both
written at once, but nothing can be written before the reads that decide it,
so the bound is the slower read plus the slower write.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    """Requests one phase of one side needs, and how many of them form a strictly sequential chain."""

    requests: int
    chain: int
    latency_s: float
    rate_per_second: float  # 0: no limit

    def seconds(self) -> float:
        by_rate = self.requests / self.rate_per_second if self.rate_per_second else 0.0
        return max(by_rate, self.chain * self.latency_s)


def pages(count: int, page_size: int) -> int:
    """Requests to page through `count` items (an empty listing is still one request)."""
    return max(1, -(-count // page_size))


def bound_seconds(reads: list[Phase], writes: list[Phase]) -> float:
    """The slowest read plus the slowest write."""
    return max((p.seconds() for p in reads), default=0.0) + max((p.seconds() for p in writes), default=0.0)
