"""What ignored query parameters cost the feed: a repeat, a new spelling, a cache-buster per request.

    .venv/bin/python bench/bench_feed_params.py [--events 2000] [--requests 2000] [--runs 5]

Calls the WSGI app in process (no sockets: this measures the app's share, not the network's) on a
generated calendar, and prints the median time per request of `--runs` runs for:
  * repeat       the same URL again: the fast path's raw-query alias, two dict lookups;
  * buster       `?kind=tariff&_=<n>` with a new n each time (what jQuery or a mail client appends):
                 the filter is parsed and found under its canonical key; nothing is rendered again;
  * utm          the same as buster with three tracking parameters;
  * render       a new filter each time, for scale: what a cache keyed on the raw query would cost a
                 cache-buster on every request.
Also prints how many feeds were rendered during the buster runs (goal: 0) and whether every answer
carried the same ETag (goal: yes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import generate_yaml  # noqa: E402 - after the sys.path line
from calendar_service.adapters.clock import SettableClock  # noqa: E402 - after the sys.path line
from calendar_service.adapters.settings import Settings  # noqa: E402 - after the sys.path line
from calendar_service.web import create_app  # noqa: E402 - after the sys.path line
from tests.support.webapp import render_count  # noqa: E402 - after the sys.path line

NOW = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
TRACKING = "utm_source=mail&utm_medium=email&utm_campaign=x"


def call(app: Any, query: str, seen: dict[str, int]) -> None:
    """GET /calendar.ics?query through the WSGI interface; count the ETags answered."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/calendar.ics", "QUERY_STRING": query, "SERVER_NAME": "bench",
        "SERVER_PORT": "80", "HTTP_HOST": "bench", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "SERVER_PROTOCOL": "HTTP/1.1",
    }  # fmt: skip
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        answer.update(status=status, headers=dict(headers))

    body = app(environ, start_response)
    b"".join(body)
    getattr(body, "close", lambda: None)()
    assert answer["status"].startswith("200"), answer["status"]
    etag = answer["headers"]["ETag"]
    seen[etag] = seen.get(etag, 0) + 1


def per_request(app: Any, queries: Callable[[int], str], count: int, seen: dict[str, int]) -> float:
    """Seconds per request over `count` requests."""
    started = time.perf_counter()
    for i in range(count):
        call(app, queries(i), seen)
    return (time.perf_counter() - started) / count


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "events.yaml"
        data.write_text(generate_yaml(args.events, seed=1), encoding="utf-8")
        settings = Settings.from_env(
            {}, data_path=data, state_dir=Path(work), reload_interval=3600, base_url="https://bench"
        )
        app = create_app(settings, clock=SettableClock(NOW))
        buster_etags: dict[str, int] = {}
        call(app, "kind=tariff", buster_etags)  # the one render every spelling below shares
        before = render_count(app)
        offset = [0]

        def fresh(prefix: str) -> Callable[[int], str]:
            def query(i: int) -> str:
                offset[0] += 1
                return f"{prefix}{1_700_000_000 + offset[0]}"

            return query

        cases: dict[str, Callable[[], float]] = {
            "repeat": lambda: per_request(app, lambda i: "kind=tariff", args.requests, buster_etags),
            "buster": lambda: per_request(app, fresh("kind=tariff&_="), args.requests, buster_etags),
            "utm": lambda: per_request(app, fresh(f"kind=tariff&{TRACKING}&_="), args.requests, buster_etags),
        }
        results = {name: statistics.median(run() for _ in range(args.runs)) for name, run in cases.items()}
        rendered = render_count(app) - before
        # For scale: a different filter each time renders a feed (fewer requests: each costs a render).
        hs_codes = [f"{chapter:02d}" for chapter in range(1, 98)]
        new_filters = min(len(hs_codes), max(args.requests // 20, 10))
        results["render"] = per_request(app, lambda i: f"hs={hs_codes[i]}", new_filters, {})
    print(f"{args.events} events, {args.requests} requests x {args.runs} runs (median per request)")
    for name, seconds in results.items():
        print(f"  {name:<8} {seconds * 1e6:10.1f} µs   {results['repeat'] / seconds:6.2f}x the repeat rate")
    print(f"feeds rendered by {2 * args.runs * args.requests} cache-buster requests: {rendered:.0f} (goal 0)")
    print(f"distinct ETags for kind=tariff in any spelling: {len(buster_etags)} (goal 1)")


if __name__ == "__main__":
    main()
