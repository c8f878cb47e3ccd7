"""Time loading and validating a generated 10,000-event file against a bare C-loader `yaml.load`.

    .venv/bin/python bench/bench_validate.py [--events 10000] [--runs 7] [--profile]
    .venv/bin/python bench/bench_validate.py --dangling 1000,4000 [--runs 3]

Prints the median of the runs for both and their ratio, in wall time and in CPU time (the process's own,
which a busy shared machine disturbs less); the runs alternate between the two so a change in load hits
both alike. The goal is a ratio of at most 1.2.

`--dangling N,...`: a file of N generated events plus N more that each refer to an id that does not
exist (half of them a typo of a real id, half unlike any). Prints, for each N, the "did you mean"
step done as before (difflib over every id for each reference: quadratic), the same step with the
index (`IdSuggester`), and the whole validation as it is now; the goal is well under a second at 4,000.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import difflib
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
from calendar_service.core.datafile import load_calendar
from calendar_service.core.errors import StoreInvalid
from calendar_service.core.validation.suggestions import IdSuggester

TODAY = dt.date(2025, 6, 10)


def median_seconds(func: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls."""
    return interleaved_medians({"one": func}, runs)["one"][0]


def interleaved_medians(funcs: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
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


DANGLING_HEAD = "calendar: {name: T, timezone: UTC, reviewed: 2025-06-01, contact: c@example.org}\nevents:\n"
PLACES = ("us-cn", "us-eu", "eu-cn", "us-mx", "us-ca", "jp-kr", "gb-in", "us-vn")
TOPICS = ("tariff-hike", "talks-round", "truce-expiry", "export-controls", "hearing", "summit", "ruling")


def _event(event_id: str, related: str | None = None) -> str:
    refs = f", related: [{related}]" if related else ""
    return (
        f"  - {{id: {event_id}, title: Title of {event_id}, kind: talks, countries: [US], "
        f"date: 2025-07-01{refs}, sources: [{{title: x}}]}}\n"
    )


def dangling_yaml(n: int) -> tuple[str, list[str], list[str]]:
    """N events with realistic slugs plus N that each name a missing id; the ids and the references.

    Half of the references are a typo of a real id (one letter changed), half are unlike any id.
    """
    ids = [f"{PLACES[i % 8]}-{TOPICS[i // 8 % 7]}-{2025 + i // 56 % 3}-{i}" for i in range(n)]
    refs = [ids[i][:-1] + "x" if i % 2 else f"nothing-like-this-{i}" for i in range(n)]
    text = DANGLING_HEAD + "".join(_event(event_id) for event_id in ids)
    text += "".join(_event(f"dangling-{i}", ref) for i, ref in enumerate(refs))
    return text, ids + [f"dangling-{i}" for i in range(n)], refs


def bench_dangling(sizes: list[int], runs: int, before_sample: int) -> None:
    """Print the cost of dangling references before and after the suggestion index."""
    print(f"{'dangling':>8}  {'before: difflib/ref':>20}  {'after: index':>13}  {'validate now':>13}")
    for n in sizes:
        text, ids, refs = dangling_yaml(n)
        sample = refs[:before_sample]  # the old way is timed on a sample: 4,000 take minutes
        start = time.perf_counter()
        for ref in sample:  # what rules._check_fields did for each dangling reference
            difflib.get_close_matches(ref, sorted(set(ids)), n=1)
        before = (time.perf_counter() - start) * len(refs) / len(sample)

        def suggest_all(ids: list[str] = ids, refs: list[str] = refs) -> None:
            suggester = IdSuggester(ids)
            for ref in refs:
                suggester.suggest(ref)

        after = median_seconds(suggest_all, runs)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "events.yaml"
            path.write_text(text, encoding="utf-8")

            def validate(path: Path = path, n: int = n) -> None:
                try:
                    load_calendar(path, today=TODAY)
                except StoreInvalid as exc:
                    errors = sum(p.is_error for p in exc.problems)
                    if errors != n:  # pragma: no cover - each dangling reference is one error
                        raise AssertionError(f"{errors} errors for {n} dangling references") from exc
                else:  # pragma: no cover - the file has n errors
                    raise AssertionError("dangling references were accepted")

            whole = median_seconds(validate, runs)
        scaled = "" if len(sample) == n else f"  (before: {len(sample)} references timed, scaled to {n})"
        print(f"{n:>8}  {before:>18.2f} s  {after:>11.3f} s  {whole:>11.3f} s{scaled}")


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print the 25 most expensive functions")
    parser.add_argument("--dangling", help="comma-separated counts of dangling references to time instead")
    parser.add_argument(
        "--before-sample", type=int, default=1000, help="dangling references the old way is timed on"
    )
    args = parser.parse_args()
    if args.dangling:
        bench_dangling([int(part) for part in args.dangling.split(",")], args.runs, args.before_sample)
        return

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

        medians = interleaved_medians(
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
