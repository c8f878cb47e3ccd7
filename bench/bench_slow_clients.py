"""Hold a real `trade-calendar serve` with trickling connections; print /readyz latency, threads, RSS.

    .venv/bin/python bench/bench_slow_clients.py [--connections 1500] [--seconds 60] [--every 1.0]

Each connection sends one header line every `--every` seconds and never finishes its request; the server
cuts it at its whole-request deadline (TRADE_CALENDAR_REQUEST_TIMEOUT, 15 s by default) and the client
opens another. Loopback only; at most 1,500 connections.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.processes import serve  # noqa: E402 - after the path is set
from tests.support.slowclients import Trickle, stop_seconds, watch  # noqa: E402 - after the path is set

MAX_CONNECTIONS = 1500


def main() -> None:
    """Run the trickle, then SIGTERM the server with the connections still open, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=MAX_CONNECTIONS)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=1.0)
    args = parser.parse_args()
    connections = min(args.connections, MAX_CONNECTIONS)
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as running:
        before = watch(running, 2.0)
        with Trickle(running.port, connections, every=args.every) as trickle:
            during = watch(running, args.seconds)
            stopped = stop_seconds(running)
        latencies = sorted(during.readyz)
        p95 = latencies[int(len(latencies) * 0.95)]
        print(f"connections {connections} trickling one line / {args.every:g} s for {args.seconds:g} s")
        print(f"opened {trickle.opened}, cut by the server {trickle.closed_by_server}")
        print(
            f"/readyz: {len(latencies)} probes, {len(during.failures)} failed, median "
            f"{statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
        print(f"threads: before {max(before.threads)}, during max {max(during.threads)}")
        print(f"RSS MB: before {max(before.rss_kb) / 1024:.1f}, during max {max(during.rss_kb) / 1024:.1f}")
        print(f"SIGTERM to exit: {stopped:.2f} s (exit code {running.process.returncode})")


if __name__ == "__main__":
    main()
