"""A real `trade-calendar serve` under 300 trickling connections: bounded, responsive, and it stops.

Each connection sends one header line a second and never finishes its request: under werkzeug's
server each held a thread for ever. Bounded here to 300 connections for about 12 s (a shared machine);
`bench/bench_slow_clients.py` runs the same with 1,500 for 60 s.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import serve
from tests.support.slowclients import Trickle, stop_seconds, watch

CONNECTIONS = 300
REQUEST_TIMEOUT = 3  # the server's whole-request deadline, so connections are cut several times


def test_trickling_connections_hold_neither_threads_nor_readyz(tmp_path: Path) -> None:
    with serve(tmp_path, request_timeout=str(REQUEST_TIMEOUT), idle_timeout="3") as running:
        before = watch(running, 1.0)
        with Trickle(running.port, CONNECTIONS, every=1.0) as trickle:
            during = watch(running, 12.0)
        assert trickle.opened >= CONNECTIONS
        # Every connection was cut by the deadline at least once (they never finish a request).
        assert trickle.closed_by_server >= CONNECTIONS
        assert not during.failures, during.failures
        assert max(during.readyz) < 1.0, sorted(during.readyz)[-5:]
        # A fixed pool: no thread per connection (werkzeug's server grew to 300+ here).
        assert max(during.threads) <= max(before.threads) + 4, (before.threads, during.threads)
        assert max(during.rss_kb) - max(before.rss_kb) < 60 * 1024, (before.rss_kb, during.rss_kb)
        with Trickle(running.port, 100, every=1.0):
            assert stop_seconds(running) < 10
    assert running.process.returncode == 0
