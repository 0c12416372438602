"""pairsync benchmarks: `python -m bench` (see BENCHMARKS.md for the targets and the latest numbers)."""
