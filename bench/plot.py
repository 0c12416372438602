"""`python -m bench.plot RESULTS.json [...] --out bench.png`: B1 against its bounds, B3 cost and memory against size.

Reads the JSON documents `python -m bench --json` prints (one per file; several
files add sizes), so a reader sees the shape at a glance: how far each B1 run
is from the physical bound, and whether the engine's cost per record stays
flat as the number of records grows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def load(paths: list[Path]) -> list[dict[str, Any]]:
    return [result for path in paths for result in json.loads(path.read_text())["results"]]


def draw(results: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b1 = sorted((r for r in results if r["id"] == "B1"), key=lambda r: (r["name"], r["size"]))
    b3 = sorted((r for r in results if r["id"] == "B3"), key=lambda r: r["size"])
    figure, (left, right, memory) = plt.subplots(1, 3, figsize=(16, 4.2))
    labels = [f"{r['name'].split('-> ')[-1]}\n{r['size']:,}" for r in b1]
    positions = range(len(b1))
    left.bar([p - 0.2 for p in positions], [r["seconds"] for r in b1], 0.4, label="measured")
    left.bar([p + 0.2 for p in positions], [r["bound_seconds"] for r in b1], 0.4, label="physical bound")
    for p, r in zip(positions, b1, strict=True):
        left.annotate(f"{r['ratio_to_bound']:.2f}x", (p - 0.2, r["seconds"]), ha="center", va="bottom", fontsize=8)
    left.set_xticks(list(positions), labels, fontsize=8)
    left.set_ylabel("seconds")
    left.set_title("B1 initial sync: measured against the physical bound")
    left.legend()
    sizes = [r["size"] for r in b3]
    for key, label in (("total_us", "total"), ("state_us", "state"), ("planning_us", "planning + mapping")):
        right.plot(sizes, [r[key] for r in b3], marker="o", label=label)
    right.set_xscale("log")
    right.set_xlabel("linked records")
    right.set_ylabel("CPU us per record")
    right.set_title("B3 engine cost per record against size")
    right.axhline(100, color="grey", linestyle="--", linewidth=1, label="target (100 us)")
    right.legend()
    _peak_memory(memory, results)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def _peak_memory(axes: Any, results: list[dict[str, Any]]) -> None:
    """B3's peak memory against size, SQLite and PostgreSQL state: it should grow linearly and slowly."""
    from matplotlib.ticker import ScalarFormatter

    kinds = (("B3", "SQLite", "o", "-"), ("B3PG", "PostgreSQL", "s", "--"), ("B3R", "replicated (B3R)", "^", ":"))
    for kind, label, marker, line in kinds:
        points = sorted((r["size"], r["peak_mb"]) for r in results if r["id"] == kind)
        if points:
            axes.plot(*zip(*points, strict=True), marker=marker, linestyle=line, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")  # on log-log axes, linear growth is a straight line of slope 1
    axes.yaxis.set_major_formatter(ScalarFormatter())
    axes.set_xlabel("linked records")
    axes.set_ylabel("peak MB (load the state, plan)")
    axes.set_title("B3 peak memory against size")
    axes.axhline(150, color="grey", linestyle="--", linewidth=1, label="target at 100,000 (150 MB)")
    axes.legend()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plot", description=__doc__)
    parser.add_argument("results", type=Path, nargs="+", help="JSON documents from `python -m bench --json`")
    parser.add_argument("--out", type=Path, default=Path("docs/bench.png"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    draw(load(args.results), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
