"""Time loading and validating a generated 10,000-event file against a bare C-loader `yaml.load`.

    .venv/bin/python bench/bench_validate.py [--events 10000] [--runs 7] [--profile]

Prints the median of the runs for both and their ratio; the goal is a ratio of at most 3.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate_yaml
from calendar_service.datafile import load_calendar

TODAY = dt.date(2025, 6, 10)


def median_seconds(func: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print the 25 most expensive functions")
    args = parser.parse_args()

    text = generate_yaml(args.events, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.yaml"
        path.write_text(text, encoding="utf-8")
        result = load_calendar(path, today=TODAY)  # warm caches (zones, countries) and check it is valid
        assert len(result.calendar) == args.events

        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(load_calendar, path, today=TODAY)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        bare = median_seconds(
            lambda: yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader), args.runs
        )
        full = median_seconds(lambda: load_calendar(path, today=TODAY), args.runs)
    print(f"events:                       {args.events} ({len(text) / 1e6:.1f} MB, {args.runs} runs, median)")
    print(f"yaml.load (CSafeLoader):      {bare * 1000:8.1f} ms")
    print(f"load_calendar (validate all): {full * 1000:8.1f} ms")
    print(f"ratio:                        {full / bare:8.2f}x  (goal <= 3x)")


if __name__ == "__main__":
    main()
