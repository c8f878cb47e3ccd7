"""Time loading and validating a generated 10,000-event file against a bare C-loader `yaml.load`.

    .venv/bin/python bench/bench_validate.py [--events 10000] [--runs 7] [--profile]

Prints the median of the runs for both and their ratio, in wall time and in CPU time (the process's own,
which a busy shared machine disturbs less); the runs alternate between the two so a change in load hits
both alike. The goal is a ratio of at most 1.2.
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
from calendar_service.store import load_calendar

TODAY = dt.date(2025, 6, 10)


def median_seconds(funcs: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """(median wall, median CPU) seconds of each function, the runs interleaved round by round."""
    wall: dict[str, list[float]] = {name: [] for name in funcs}
    cpu: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(runs):
        for name, func in funcs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            func()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in funcs}


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

        medians = median_seconds(
            {
                "bare": lambda: yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader),
                "full": lambda: load_calendar(path, today=TODAY),
            },
            args.runs,
        )
    (bare, bare_cpu), (full, full_cpu) = medians["bare"], medians["full"]
    print(f"events:                       {args.events} ({len(text) / 1e6:.1f} MB, {args.runs} runs, median)")
    print("                                 wall ms      CPU ms")
    print(f"yaml.load (CSafeLoader):      {bare * 1000:8.1f}    {bare_cpu * 1000:8.1f}")
    print(f"load_calendar (validate all): {full * 1000:8.1f}    {full_cpu * 1000:8.1f}")
    print(f"ratio:                        {full / bare:8.2f}x   {full_cpu / bare_cpu:8.2f}x  (goal <= 1.2x)")


if __name__ == "__main__":
    main()
