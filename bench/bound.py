"""Lower bounds a run cannot beat, from the requests each side needs and what the sandboxes allow.

A phase (reading one side, writing one side) takes at least the longer of its
requests at the allowed rate and its chain of requests that must go one after
another, times the per-request latency.

`physical_bound` is the bound B1's `ratio_to_bound` is measured against: each
side at its allowed rate or along its longest dependent chain, with reading
and writing overlapping wherever the data allows. Writes into the target can
begin once the target's own index is read and the source's first page has
arrived, and the last write follows the last source read.

`engine_model_bound` is the older figure, shaped on the engine's own design (the
slower read, then the slower write, with Stripe's pages in one chain); it stays
beside the physical one as `ratio_to_engine_model` so that the two can be told
apart.
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


def engine_model_bound(reads: list[Phase], writes: list[Phase]) -> float:
    """The slowest read plus the slowest write: how the engine runs, not what the apps allow."""
    return max((p.seconds() for p in reads), default=0.0) + max((p.seconds() for p in writes), default=0.0)


def physical_bound(source_read: Phase, target_read: Phase, target_write: Phase) -> float:
    """A one-way initial sync: the least time the apps' limits and latencies allow, phases overlapping."""
    first_writable = max(min(source_read.latency_s * source_read.chain, source_read.latency_s), target_read.seconds())
    return max(
        source_read.seconds(),
        target_read.seconds(),
        first_writable + target_write.seconds(),
        source_read.seconds() + target_write.latency_s,
    )
