"""What our code costs per feed 304, layer by layer, in process (no server, no network).

    .venv/bin/python bench/bench_feed_304.py [--events 2000] [--requests 20000] [--runs 5]

The same conditional request (If-None-Match of the current feed) is passed to each WSGI layer the app
stacks (the feed fast path alone, then with compression, then with the Host guard: the whole app) and to
a bare callable answering a 304, for a client without Accept-Encoding and one sending
`gzip, deflate, br`, in interleaved runs. Prints the median microseconds per request. `bench_serve.py`
measures the same 304 under gunicorn; this one says how much of that is ours.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import generate_yaml  # noqa: E402 - after the sys.path line

WsgiApp = Callable[[dict[str, Any], Callable[..., object]], Iterable[bytes]]
CLIENTS = {"no Accept-Encoding": {}, "gzip client": {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}}


def environ(extra: dict[str, str]) -> dict[str, Any]:
    """A GET /calendar.ics environ as gunicorn builds it, plus `extra`."""
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/calendar.ics", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench", "HTTP_ACCEPT": "*/*", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, **extra,
    }  # fmt: skip


def per_request(app: WsgiApp, extra: dict[str, str], requests: int) -> float:
    """Microseconds per request of `app` answering the conditional request in `extra`."""
    base = environ(extra)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
        statuses.append(status)
        return None

    started = time.perf_counter()
    for _ in range(requests):
        for _chunk in app(dict(base), start_response):
            pass
    elapsed = time.perf_counter() - started
    if any(not status.startswith("304") for status in statuses):
        raise SystemExit(f"not every answer was a 304: {set(statuses)}")
    return elapsed / requests * 1e6


def main() -> None:
    """Build the app on a generated calendar, then time each layer on the same 304."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feed-304-") as tmp:
        data = Path(tmp) / "events.yaml"
        data.write_text(generate_yaml(args.events, seed=1), encoding="utf-8")
        os.environ.update(
            TRADE_CALENDAR_DATA_PATH=str(data), TRADE_CALENDAR_STATE_DIR=str(Path(tmp) / "state"),
            TRADE_CALENDAR_LOG_LEVEL="WARNING",
        )  # fmt: skip
        from calendar_service.web import create_app

        app = create_app()
        whole = app.wsgi_app  # HostGuard(Compression(FeedFastPath(Flask)))
        compression = whole.app  # type: ignore[attr-defined]
        fast_path = compression.app
        headers: list[tuple[str, str]] = []
        for _chunk in whole(environ({}), lambda status, sent, exc_info=None: headers.extend(sent)):
            pass  # the first GET renders and caches the feed
        etag = dict(headers)["ETag"]

        def bare(env: dict[str, Any], start_response: Callable[..., object]) -> Iterable[bytes]:
            start_response("304 Not Modified", [("ETag", etag)])
            return []

        layers: dict[str, WsgiApp] = {
            "bare callable": bare,
            "fast path": fast_path,
            "+ compression": compression,
            "+ host guard (whole app)": whole,
        }
        print(f"feed 304 in process, {args.requests} requests a run, median of {args.runs} interleaved runs:")
        for client, extra in CLIENTS.items():
            conditional = {"HTTP_IF_NONE_MATCH": etag, **extra}
            runs: dict[str, list[float]] = {name: [] for name in layers}
            for _ in range(args.runs):
                for name, layer in layers.items():
                    runs[name].append(per_request(layer, conditional, args.requests))
            figures = ", ".join(f"{name} {statistics.median(v):.2f} us" for name, v in runs.items())
            print(f"  {client}: {figures}")


if __name__ == "__main__":
    main()
