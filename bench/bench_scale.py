"""Memory per event and reload time at scale, each beside a reference measured in the same run.

    .venv/bin/python bench/bench_scale.py [--sizes 10000,100000] [--rounds 3] [--profile]

For each size, a generated calendar (bench/generate.py) is loaded by a fresh process the way a web
worker loads it (`create_app`, SQLite publication state), which then answers one feed request. Its RSS
then, minus the same process on an empty calendar, over the number of events, is the memory per
event (goal: at most 5 KB at 100,000). Then, in that process, rounds of: a bare
`yaml.load(..., Loader=CSafeLoader)` of the same bytes with the GC paused (the reference), and a
reload of an edited file (`LiveCalendar.check()`: read, hash, parse, validate, publish, index; what
the reload thread does). Each round prints both CPU times and their ratio; the goal is a median at
most 1.5. The peak RSS during the reloads (VmHWM, reset before them through /proc/self/clear_refs) is
printed against the steady RSS before them (goal: at most 1.5x). `--profile` adds, per size, the top
of a cProfile of one reload and a tracemalloc of what one loaded calendar keeps.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import generate_yaml  # noqa: E402 - after the sys.path line

MEMORY_GOAL_KB = 5.0
RELOAD_GOAL = 1.5
PEAK_GOAL = 1.5


def status_kb(field: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(data: Path, rounds: int, profile: bool) -> dict[str, Any]:
    """Load `data` as a web worker does, answer one feed, then measure reloads against bare parses."""
    import datetime as dt

    import yaml

    from calendar_service.adapters.clock import SettableClock
    from calendar_service.adapters.datafile_reader import paused_gc
    from calendar_service.adapters.settings import Settings
    from calendar_service.web import create_app
    from calendar_service.web.extension import services

    state = Path(tempfile.mkdtemp(prefix="bench-scale-state-"))
    settings = Settings.from_env(
        {}, data_path=data, state_dir=state, reload_interval=3600, reload_settle=0,
        max_data_bytes=max(2 * data.stat().st_size, Settings.max_data_bytes),  # 100,000 events: 57 MB
    )  # fmt: skip
    clock = SettableClock(dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC))
    app = create_app(settings, clock=clock)
    live = services(app).live
    assert live.snapshot is not None, live.last_failure
    response = app.test_client().get("/calendar.ics")
    assert response.status_code == 200, response.status_code
    del response
    gc.collect()
    out: dict[str, Any] = {"events": len(live.snapshot.calendar), "rss_kb": status_kb("VmRSS")}
    out["load_peak_kb"] = status_kb("VmHWM")
    if rounds == 0:
        services(app).close()
        shutil.rmtree(state, ignore_errors=True)
        return out
    raw = data.read_bytes()
    out["peak_reset"] = reset_peak()
    steady = status_kb("VmRSS")
    bare_cpu, reload_cpu, reload_wall = [], [], []
    for number in range(rounds):
        with paused_gc():
            start = time.process_time()
            yaml.load(raw, Loader=yaml.CSafeLoader)
            bare_cpu.append(time.process_time() - start)
        edited = raw.replace(b"calendar:\n", f"# reload {number}\ncalendar:\n".encode(), 1)
        data.write_bytes(edited)
        clock.advance(dt.timedelta(minutes=1))
        start, start_wall = time.process_time(), time.perf_counter()
        assert live.check(), live.last_failure
        reload_cpu.append(time.process_time() - start)
        reload_wall.append(time.perf_counter() - start_wall)
    out.update(steady_kb=steady, reload_peak_kb=status_kb("VmHWM"), after_kb=status_kb("VmRSS"))
    out.update(bare_cpu=bare_cpu, reload_cpu=reload_cpu, reload_wall=reload_wall)
    if profile:
        out["profile"] = _profile(live, data, raw, clock)
    services(app).close()
    shutil.rmtree(state, ignore_errors=True)
    return out


def _profile(live: Any, data: Path, raw: bytes, clock: Any) -> str:
    import datetime as dt

    from calendar_service.core.datafile import parse_calendar

    text = io.StringIO()
    data.write_bytes(raw.replace(b"calendar:\n", b"# profiled\ncalendar:\n", 1))
    clock.advance(dt.timedelta(minutes=1))
    profiler = cProfile.Profile()
    profiler.enable()
    live.check()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(20)
    tracemalloc.start(4)
    kept = parse_calendar(raw, str(data), today=dt.date(2026, 1, 15))
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    text.write(f"\ntracemalloc: what one parsed calendar keeps ({len(kept.calendar)} events), top 15:\n")
    for stat in snapshot.statistics("lineno")[:15]:
        text.write(f"  {stat}\n")
    return text.getvalue()


def run_child(data: Path, rounds: int, profile: bool) -> dict[str, Any]:
    """`child` in a fresh interpreter (so each figure starts from an empty heap); its JSON answer."""
    command = [sys.executable, __file__, "--child", str(data), "--rounds", str(rounds)]
    if profile:
        command.append("--profile")
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{done.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def measure(sizes: list[int], rounds: int, profile: bool, directory: Path) -> dict[str, Any]:
    """Every figure of the run: the empty baseline, then each size."""
    empty = directory / "empty.yaml"
    empty.write_text(generate_yaml(0, seed=1), encoding="utf-8")
    results: dict[str, Any] = {"empty": run_child(empty, 0, False), "sizes": {}}
    for size in sizes:
        path = directory / f"events-{size}.yaml"
        path.write_text(generate_yaml(size, seed=1), encoding="utf-8")
        results["sizes"][size] = run_child(path, rounds, profile)
    return results


def report(results: dict[str, Any]) -> list[str]:
    """The lines to print, goals marked."""
    empty_kb = results["empty"]["rss_kb"]
    lines = [f"empty server (0 events, one feed): RSS {empty_kb / 1024:.0f} MiB"]
    for size, figures in results["sizes"].items():
        events = figures["events"]
        per_event = (figures["rss_kb"] - empty_kb) / events
        mark = "ok" if per_event <= MEMORY_GOAL_KB else "MISSED"
        lines.append(
            f"{int(size):,} events: RSS {figures['rss_kb'] / 1024:.0f} MiB after load and one feed; "
            f"{per_event:.1f} KB per event beyond the empty server (goal <= {MEMORY_GOAL_KB:g}: {mark}); "
            f"peak while loading {figures['load_peak_kb'] / 1024:.0f} MiB"
        )
        if "reload_cpu" not in figures:
            continue
        ratios = [r / b for r, b in zip(figures["reload_cpu"], figures["bare_cpu"], strict=True)]
        for number, (bare, reload, wall, ratio) in enumerate(
            zip(figures["bare_cpu"], figures["reload_cpu"], figures["reload_wall"], ratios, strict=True), 1
        ):
            lines.append(
                f"  round {number}: bare CSafeLoader parse, GC paused {bare:.2f} s CPU; reload "
                f"{reload:.2f} s CPU ({wall:.2f} s wall); ratio {ratio:.2f}"
            )
        median = statistics.median(ratios)
        mark = "ok" if median <= RELOAD_GOAL else "MISSED"
        lines.append(
            f"  reload / bare parse, median of {len(ratios)}: {median:.2f} (goal <= {RELOAD_GOAL}: {mark})"
        )
        if figures.get("peak_reset"):
            peak = figures["reload_peak_kb"] / figures["steady_kb"]
            mark = "ok" if peak <= PEAK_GOAL else "MISSED"
            lines.append(
                f"  peak RSS during reloads {figures['reload_peak_kb'] / 1024:.0f} MiB vs steady "
                f"{figures['steady_kb'] / 1024:.0f} MiB: {peak:.2f}x (goal <= {PEAK_GOAL}: {mark}); "
                f"after the reloads {figures['after_kb'] / 1024:.0f} MiB"
            )
        else:
            lines.append("  peak RSS during reloads: not measured (the kernel refused to reset VmHWM)")
        if figures.get("profile"):
            lines.append(figures["profile"])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="event counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.rounds, args.profile)))
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f} at start; python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as directory:
        results = measure(sizes, args.rounds, args.profile, Path(directory))
    for line in report(results):
        print(line)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
