"""The per-request paths under gunicorn, each beside a bare Flask app returning the same bytes.

    .venv/bin/python bench/bench_pages_api.py [--events 10000] [--duration 8] [--rounds 3]
        [--tree /path/to/another/checkout ...]

One generated calendar (bench/generate.py), served by gunicorn with the compose flags (gunicorn_conf,
4 workers x 4 threads); the same gunicorn runs a bare Flask app that returns, for each path, the bytes
the service answered (and its Content-Type). `wrk` drives 16 connections on loopback. Rounds are
interleaved (every path, every server, then the next round) so a busy neighbour slows all alike.
`--tree` adds the service from another checkout (e.g. a `git worktree` of main: the "before") to the
same rounds. Prints per-round req/s, p50/p99, medians and the ratio service / bare; goals: >= 0.3x for
`/`, upcoming and `events?country=CN`, >= 0.5x for an event page, p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_serve import fetch, free_port, stop, wait_until, write_bare_app  # noqa: E402 - after sys.path
from bench.generate import generate_yaml  # noqa: E402 - after the sys.path line

CONNECTIONS = 16
PATHS = {
    "home": "/",
    "upcoming": "/api/v1/deadlines/upcoming",
    "events CN": "/api/v1/events?country=CN",
    "event page": "/events/{event_id}",
}
GOALS = {"home": 0.3, "upcoming": 0.3, "events CN": 0.3, "event page": 0.5}


def start(tree: Path, app: str, env: dict[str, str], port: int, path: str = "") -> subprocess.Popen[bytes]:
    """gunicorn with the compose flags, importing from `tree` (and `path`)."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "--config", "python:calendar_service.web.gunicorn_conf",
               "--bind", f"127.0.0.1:{port}", "--workers", "4", "--threads", "4",
               "--log-level", "warning", "--timeout", "300", app]  # fmt: skip
    return subprocess.Popen(command, env={**env, "PYTHONPATH": f"{tree}{os.pathsep}{path}"}, cwd=tree)


def wrk(url: str, duration: int) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 in ms from one wrk run."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"errors from {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, _latency(out, "50%"), _latency(out, "99%")


def _latency(out: str, which: str) -> float:
    value, unit = re.search(rf"{which}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    """Serve, capture the bytes, run the interleaved rounds and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="another checkout to serve too")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    trees = {"service": ROOT, **{f"service@{Path(t).name}": Path(t).resolve() for t in args.tree}}
    with tempfile.TemporaryDirectory(prefix="bench-pages-api-") as tmp:
        work = Path(tmp)
        data = work / "events.yaml"
        data.write_text(generate_yaml(args.events, seed=1), encoding="utf-8")
        processes: list[subprocess.Popen[bytes]] = []
        bases: dict[str, str] = {}
        try:
            for name, tree in trees.items():
                state = work / name
                (state / "metrics").mkdir(parents=True)
                env = dict(
                    os.environ,
                    TRADE_CALENDAR_DATA_PATH=str(data),
                    TRADE_CALENDAR_STATE_DIR=str(state),
                    TRADE_CALENDAR_LOG_LEVEL="WARNING",
                    PROMETHEUS_MULTIPROC_DIR=str(state / "metrics"),
                )
                port = free_port()
                processes.append(start(tree, "calendar_service.web:create_app()", env, port))
                bases[name] = f"http://127.0.0.1:{port}"
            first = bases["service"]
            wait_until(f"{first}/readyz", timeout=600, process=processes[0])
            event_id = json.loads(fetch(f"{first}/api/v1/events?limit=1")[2])["items"][0]["id"]
            paths = {name: path.format(event_id=event_id) for name, path in PATHS.items()}
            for name, base in bases.items():
                wait_until(f"{base}/readyz", timeout=600, process=processes[list(bases).index(name)])
                for path in paths.values():  # every worker loads the version and builds what it keeps
                    for _ in range(12):
                        fetch(base + path)
            pages = {}
            for name, path in paths.items():
                status, headers, body = fetch(bases["service"] + path)
                if status != 200:
                    raise SystemExit(f"{path}: {status}")
                (work / f"{name}.body").write_bytes(body)
                pages[path] = [str(work / f"{name}.body"), headers["Content-Type"]]
                print(f"{name:>10}: {path}  {len(body):,} bytes")
            bare = work / "bare"
            write_bare_app(bare, pages)
            port = free_port()
            metrics = work / "bare-metrics"
            metrics.mkdir()
            bare_env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics))
            processes.append(start(bare, "bareapp:create_app()", bare_env, port, str(ROOT)))
            bases["bare"] = f"http://127.0.0.1:{port}"
            wait_until(bases["bare"] + paths["upcoming"], timeout=60, process=processes[-1])
            for name, path in paths.items():
                if fetch(bases["bare"] + path)[2] != (work / f"{name}.body").read_bytes():
                    raise SystemExit(f"the bare app does not return the same bytes for {path}")
            results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
            for round_ in range(args.rounds):
                for name, path in paths.items():
                    for server, base in bases.items():
                        measured = wrk(base + path, args.duration)
                        results.setdefault((name, server), []).append(measured)
                        rate, p50, p99 = measured
                        print(
                            f"round {round_ + 1} {name:>10} {server:>16}: {rate:9.1f} req/s  "
                            f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms",
                            flush=True,
                        )
        finally:
            for process in reversed(processes):
                stop(process)
    print()
    print(f"medians over {args.rounds} interleaved rounds, {CONNECTIONS} connections, {args.events} events:")
    for name in paths:
        bare_rates = [r for r, _, _ in results[(name, "bare")]]
        for server in trees:
            runs = results[(name, server)]
            rate = statistics.median(r for r, _, _ in runs)
            p50 = statistics.median(p for _, p, _ in runs)
            p99 = statistics.median(p for _, _, p in runs)
            ratios = [r / b for (r, _, _), b in zip(runs, bare_rates, strict=True)]
            verdict = "met" if statistics.median(ratios) >= GOALS[name] and p99 <= 20 else "NOT met"
            print(
                f"  {name:>10} {server:>16}: {rate:9.1f} req/s p50 {p50:6.2f} ms p99 {p99:7.2f} ms | bare "
                f"{statistics.median(bare_rates):8.1f} req/s | ratio {statistics.median(ratios):.3f} "
                f"(rounds {', '.join(f'{x:.3f}' for x in ratios)}; goal >= {GOALS[name]}, p99 <= 20 ms: "
                f"{verdict})"
            )


if __name__ == "__main__":
    main()
