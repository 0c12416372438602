"""The bench's timeline: marks from the engine's hooks, the spacing of write batches, the collector's pauses."""

from __future__ import annotations

import gc

from bench.timeline import Timeline


def test_the_timeline_counts_write_batches_and_full_collections_and_lets_go_of_the_collector() -> None:
    timeline = Timeline()
    timeline.read("right", 0)
    timeline.read("left", 10)
    for _ in range(3):
        timeline.progress(200)
    gc.collect()
    figures = timeline.figures(seconds=1.0)
    assert figures["write_batches"] == 3
    assert {"write_interval_mean_s", "write_interval_max_s", "gc_pause_s"} <= figures.keys()
    assert figures["gc_full_collections"] >= 1
    assert timeline._collector not in gc.callbacks
    gc.collect()
    assert timeline.figures(seconds=1.0)["gc_full_collections"] == figures["gc_full_collections"]


def test_a_run_without_writes_has_no_write_spacing() -> None:
    figures = Timeline().figures(seconds=0.5)
    assert "write_interval_mean_s" not in figures and figures["after_last_write_s"] == 0.0
