"""Creating subscriptions at a steady rate beside the reminder service, on SQLite: do any meet a 503?

    .venv/bin/python bench/bench_creations.py [--existing 1000] [--rate 30] [--seconds 3]

Serves the app as `trade-calendar serve` does (web and reminder service in one process, SQLite under a
temporary state directory, the bundled data/events.yaml) on a loopback port, with `--existing`
subscriptions already stored. Each creation re-plans every subscription in the background, so creating
`--rate` a second for `--seconds` makes the planner and the API write at the same time. Prints how many
creations answered each status (goal: all 201; issue 17 saw `503 database is locked` at 30 a second)
and the median and worst creation latency.
"""

from __future__ import annotations

import argparse
import collections
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calendar_service.adapters.db import subscriptions as db  # noqa: E402 - after the sys.path line
from calendar_service.adapters.settings import Settings  # noqa: E402 - after the sys.path line
from calendar_service.core.subscriptions import Subscription  # noqa: E402 - after the sys.path line
from calendar_service.web import create_app  # noqa: E402 - after the sys.path line
from calendar_service.web.extension import services  # noqa: E402 - after the sys.path line
from tests.support.webapp import serving  # noqa: E402 - after the sys.path line

TOKEN = "bench-creations-token-0123456789"
HOOK = "https://93.184.215.14/hook"  # a public literal: accepted, never resolved


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--existing", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request drowns the figures
    with tempfile.TemporaryDirectory() as state:
        settings = Settings.from_env(
            {}, data_path=ROOT / "data" / "events.yaml", state_dir=Path(state), admin_tokens=(TOKEN,),
            reload_interval=60, log_level="WARNING",
        )  # fmt: skip
        app = create_app(settings)
        parts = services(app)
        now = parts.clock.now()
        for i in range(args.existing):
            sub = Subscription(
                id=f"sub_bench{i}", url=HOOK, filter={}, secret="s", created_at=now, updated_at=now
            )
            db.create_subscription(parts.engine, sub)
        reminders = parts.start_reminders()
        statuses: collections.Counter[int] = collections.Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        with serving(app) as base:

            def create() -> None:
                started = time.monotonic()
                answer = requests.post(
                    base + "/api/v1/subscriptions", json={"url": HOOK},
                    headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120,
                )  # fmt: skip
                with lock:
                    statuses[answer.status_code] += 1
                    latencies.append(time.monotonic() - started)

            threads = []
            for _ in range(args.rate * args.seconds):
                thread = threading.Thread(target=create)
                thread.start()
                threads.append(thread)
                time.sleep(1 / args.rate)
            for thread in threads:
                thread.join()
        reminders.shutdown()
    shown = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    print(f"{args.existing} existing subscriptions, {args.rate}/s for {args.seconds} s: {shown}")
    print(f"creation latency: median {statistics.median(latencies):.3f} s, worst {max(latencies):.3f} s")


if __name__ == "__main__":
    main()
