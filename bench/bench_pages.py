"""Time the home page (timeline, changes, upcoming) and an event page against the full .ics render.

    .venv/bin/python bench/bench_pages.py [--events 10000] [--runs 15] [--profile]

One run over the same generated calendar (bench/generate.py): the full feed as `render_feed` writes it,
`GET /` and `GET /events/<id>` through the WSGI app (Flask test client: routing, template, validators,
no network). Prints p50 times, bytes and the page/feed ratio; the goals are a home page at most 1× the
feed render and an event page p50 of at most 5 ms.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate_yaml
from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.core.filters import EventFilter
from calendar_service.render.ical import render_feed
from calendar_service.web import create_app
from calendar_service.web.extension import web_parts

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)


def p50(func: Callable[[], bytes], runs: int) -> tuple[float, int]:
    """Median wall time of `runs` calls and the size of the last answer."""
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        size = len(func())
        times.append(time.perf_counter() - start)
    return statistics.median(times), size


def main() -> None:
    """Build the app on the generated file, time the three renders, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="profile the home page")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.yaml"
        path.write_text(generate_yaml(args.events, seed=1), encoding="utf-8")
        settings = Settings.from_env({}, data_path=path, state_dir=Path(tmp) / "state", reload_interval=3600)
        app = create_app(settings, clock=SettableClock(NOW))
        snapshot = web_parts(app).services.live.snapshot
        assert snapshot is not None
        assert len(snapshot.calendar) == args.events
        client = app.test_client()
        event = next(e for e in snapshot.calendar if e.action and e.history)

        def feed() -> bytes:
            return render_feed(snapshot.calendar, snapshot.published, EventFilter())

        def get(url: str) -> Callable[[], bytes]:
            def fetch() -> bytes:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return response.get_data()

            return fetch

        for warm in (feed, get("/"), get(f"/events/{event.id}")):
            warm()
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(get("/"))
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        feed_t, feed_b = p50(feed, args.runs)
        home_t, home_b = p50(get("/"), args.runs)
        page_t, page_b = p50(get(f"/events/{event.id}"), args.runs * 10)
        action_t, action_b = p50(get(f"/actions/{event.action}"), args.runs * 10)

    print(f"{args.events} events, p50 of {args.runs} runs (event and action pages: {args.runs * 10})")
    print(f"  full .ics render (render_feed)    {feed_t * 1000:8.1f} ms  {feed_b:>10,} bytes")
    print(f"  GET / (timeline, changes, next)   {home_t * 1000:8.1f} ms  {home_b:>10,} bytes")
    print(f"  GET /events/<id>                  {page_t * 1000:8.2f} ms  {page_b:>10,} bytes")
    print(f"  GET /actions/<action>             {action_t * 1000:8.2f} ms  {action_b:>10,} bytes")
    print(f"  home page / feed render           {home_t / feed_t:8.2f}×   (goal ≤ 1×)")
    print(f"  event page p50                    {page_t * 1000:8.2f} ms  (goal ≤ 5 ms)")


if __name__ == "__main__":
    main()
