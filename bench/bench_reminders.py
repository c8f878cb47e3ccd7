"""Benchmark the reminder engine: planning at scale, and a burst of reminders all due in the same second.

    .venv/bin/python bench/bench_reminders.py                       # SQLite file in a temp dir
    .venv/bin/python bench/bench_reminders.py --burst 2000          # smaller burst
    .venv/bin/python bench/bench_reminders.py --database-url postgresql+psycopg://postgres@127.0.0.1/test

1. Plan 1,000 subscriptions x 50 deadlines x 3 lead times (pure `plan_reminders`), then insert them
   into the ledger (idempotent insert) and insert them again (everything already there).
2. Burst: `--burst` reminders fall due at the same instant. The real service (APScheduler wake-up, ledger
   claims, `WebhookClient` with its per-attempt safety checks, signing, the attempt log) sends them to a
   fast receiver in a separate process on 127.0.0.1. Printed: p50/p99 lateness of the first attempt
   (attempt start minus due time) and deliveries per second, next to a bare `requests` loop at the same
   concurrency against the same receiver. Loopback only, bounded in count and in time (`--max-seconds`).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import datetime as dt
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calendar_service.clock import SystemClock  # noqa: E402
from calendar_service.datafile import parse_calendar  # noqa: E402
from calendar_service.db import create_schema, ledger, make_engine  # noqa: E402
from calendar_service.db import subscriptions as subs_db  # noqa: E402
from calendar_service.reminders.planning import plan_reminders  # noqa: E402
from calendar_service.reminders.service import ReminderService, Tuning  # noqa: E402
from calendar_service.settings import Settings  # noqa: E402
from calendar_service.store import Calendar  # noqa: E402
from calendar_service.subscriptions import Subscription  # noqa: E402
from calendar_service.webhooks.client import WebhookClient  # noqa: E402
from calendar_service.webhooks.security import AddressPolicy  # noqa: E402
from calendar_service.webhooks.signing import new_secret  # noqa: E402

UTC = dt.UTC


# --- a fast receiver in its own process -----------------------------------------------------------


def _serve(port_out: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    """An asyncio HTTP/1.1 keep-alive server that answers 200 to every POST and counts webhook-ids."""
    seen: dict[str, int] = {}
    total = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal total
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                webhook_id = ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        length = int(value)
                    elif lowered == b"webhook-id":
                        webhook_id = value.strip().decode()
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"GET /stats"):
                    body = json.dumps({"total": total, "distinct": len(seen)}).encode()
                else:
                    total += 1
                    if webhook_id:
                        seen[webhook_id] = seen.get(webhook_id, 0) + 1
                    body = b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.put(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.1)
        server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    asyncio.run(main())


@dataclass
class ReceiverProcess:
    """The receiver process and its URL."""

    process: mp.Process
    stop: mp.Event  # type: ignore[type-arg]
    url: str

    def stats(self) -> dict[str, int]:
        return requests.get(self.url + "/stats", timeout=5).json()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()


def start_receiver() -> ReceiverProcess:
    ctx = mp.get_context("spawn")
    port_out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    process = ctx.Process(target=_serve, args=(port_out, stop), daemon=True)
    process.start()
    port = port_out.get(timeout=10)
    return ReceiverProcess(process, stop, f"http://127.0.0.1:{port}")


# --- data -----------------------------------------------------------------------------------------


def calendar_of(deadlines: list[dt.datetime]) -> Calendar:
    """A calendar with one timed deadline per entry (UTC, minute precision)."""
    events = [
        {
            "id": f"deadline-{i:03d}", "title": f"Deadline {i}", "kind": "deadline", "countries": ["US"],
            "date": d.date().isoformat(), "time": d.strftime("%H:%M"), "tz": "UTC", "deadline": "start",
            "sources": [{"title": "Federal Register", "url": "https://example.com/fr"}],
        }
        for i, d in enumerate(deadlines)
    ]
    doc = {"calendar": {"name": "Bench", "timezone": "UTC", "reviewed": "2026-01-01",
                        "contact": "bench@example.org"}, "events": events}
    raw = yaml.safe_dump(doc, sort_keys=False).encode()
    return parse_calendar(raw, "bench.yaml", today=dt.date(2026, 1, 1)).calendar


def subscriptions(n: int, url: str, leads: tuple[str, ...], now: dt.datetime) -> list[Subscription]:
    secret = new_secret()
    return [
        Subscription(id=f"sub-{i:05d}", url=f"{url}/s{i}", filter={}, secret=secret, created_at=now,
                     updated_at=now, lead_times=leads)
        for i in range(n)
    ]


# --- 1. planning ----------------------------------------------------------------------------------


def bench_planning(database_url: str) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    deadlines = [dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + dt.timedelta(days=i) for i in range(50)]
    calendar = calendar_of(deadlines)
    subs = subscriptions(1000, "http://127.0.0.1:9", ("P7D", "P1D", "PT1H"), now)
    t0 = time.perf_counter()
    plan = plan_reminders(calendar, subs, now)
    planned = time.perf_counter() - t0
    print(f"plan_reminders: {len(plan):,} reminders (1,000 subs x 50 deadlines x 3 lead times) "
          f"in {planned:.2f} s ({len(plan) / planned:,.0f}/s)")
    engine = make_engine(database_url)
    create_schema(engine)
    rows = [{"id": r.id, "subscription_id": r.subscription_id, "kind": "reminder.due", "event_id": r.event_id,
             "lead_time": r.lead_time, "due_at": r.due_at, "deadline_at": r.deadline_at} for r in plan]
    t0 = time.perf_counter()
    added = ledger.add_rows(engine, rows, now=now)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = ledger.add_rows(engine, rows, now=now)
    second = time.perf_counter() - t0
    print(f"ledger insert:  {added:,} new rows in {first:.2f} s; the same plan again: {again} new "
          f"in {second:.2f} s (idempotent)")
    engine.dispose()


# --- 2. burst -------------------------------------------------------------------------------------


@dataclass
class OffsetClock:
    """The system clock moved by a fixed offset, so a minute-precision due time can be a moment away."""

    offset: dt.timedelta
    system: SystemClock = field(default_factory=SystemClock)

    def now(self) -> dt.datetime:
        return self.system.now() + self.offset


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_burst(database_url: str, count: int, concurrency: int, max_seconds: float) -> None:
    receiver = start_receiver()
    try:
        n_events = 50
        n_subs = -(-count // n_events)
        deadline = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        # All reminders due at one instant: n_events events sharing one deadline, lead time P1D.
        calendar = calendar_of([deadline] * n_events)
        due = deadline - dt.timedelta(days=1)
        start_at = due - dt.timedelta(seconds=3)  # plan first, then the alarm rings at `due`
        clock = OffsetClock(start_at - SystemClock().now())
        engine = make_engine(database_url)
        create_schema(engine)
        for sub in subscriptions(n_subs, receiver.url, ("P1D",), clock.now()):
            subs_db.create_subscription(engine, sub)
        settings = Settings(allow_private_webhooks=True, webhook_timeout=10.0)
        client = WebhookClient(AddressPolicy(allow_private=True), timeout=10.0, clock=clock)
        tuning = Tuning(concurrency=concurrency, batch=500)
        service = ReminderService(settings, engine, calendar, clock, client, tuning=tuning)
        service.start()
        planned = sum(ledger.count_by_state(engine).values())
        limit = time.monotonic() + max_seconds
        while time.monotonic() < limit:
            states = ledger.count_by_state(engine)
            if states.get("pending", 0) == 0:
                break
            time.sleep(0.2)
        service.shutdown()
        states = ledger.count_by_state(engine)
        rows = ledger.list_rows(engine, state="delivered")
        lateness = [(r["first_attempt_at"] - r["due_at"]).total_seconds() for r in rows]
        first_start = min(r["first_attempt_at"] for r in rows)
        last_end = max(r["finished_at"] for r in rows)
        span = (last_end - first_start).total_seconds()
        engine_rate = len(rows) / span
        seen = receiver.stats()
        kind = database_url.split(":")[0]
        print(f"burst: {planned:,} reminders due at the same second, concurrency {concurrency}, {kind}")
        print(f"  service:   delivered {len(rows):,} ({states}) in {span:.2f} s = {engine_rate:,.0f}/s; "
              f"first-attempt lateness p50 {percentile(lateness, 0.5):.3f} s, "
              f"p99 {percentile(lateness, 0.99):.3f} s, max {max(lateness):.3f} s "
              f"(wake-up: first send {min(lateness):.3f} s after due)")
        print(f"  receiver:  {seen['total']:,} requests, {seen['distinct']:,} distinct webhook-ids")
        engine.dispose()

        bare_rate, bare_lateness = bare_loop(receiver.url, planned, concurrency)
        print(f"  bare loop: requests.Session per thread, {concurrency} threads, {planned:,} POSTs in "
              f"{planned / bare_rate:.2f} s = {bare_rate:,.0f}/s; lateness p50 "
              f"{percentile(bare_lateness, 0.5):.3f} s, p99 {percentile(bare_lateness, 0.99):.3f} s")
        print(f"  service/bare throughput: {engine_rate / bare_rate:.0%} (goal >= 50%); "
              f"p99 lateness goal < 1 s: {'met' if percentile(lateness, 0.99) < 1 else 'NOT met'}")
    finally:
        receiver.close()


def bare_loop(url: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    """POST `count` similar bodies with plain requests at `concurrency`; (rate, lateness of each start)."""
    local = threading.local()
    body = json.dumps({"type": "reminder.due", "data": {"event_id": "x" * 40, "lead_time": "P1D"}}).encode()

    def post(i: int) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        response = session.post(f"{url}/bare", data=body, headers={"webhook-id": f"bare-{i}"}, timeout=10)
        response.close()
        return started

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrency) as pool:
        starts = list(pool.map(post, range(count)))
    elapsed = time.perf_counter() - t0
    return count / elapsed, [s - t0 for s in starts]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--burst", type=int, default=10_000, help="reminders due at the same second")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="stop waiting for the burst after")
    args = parser.parse_args()
    if not 1 <= args.burst <= 50_000:
        parser.error("--burst must be between 1 and 50,000")
    with tempfile.TemporaryDirectory() as tmp:
        plan_url = args.database_url or f"sqlite:///{tmp}/plan.sqlite3"
        burst_url = args.database_url or f"sqlite:///{tmp}/burst.sqlite3"
        if args.database_url:
            print("note: --database-url should point at an empty database (both parts write to it)")
        bench_planning(plan_url)
        bench_burst(burst_url, args.burst, args.concurrency, args.max_seconds)


if __name__ == "__main__":
    main()
