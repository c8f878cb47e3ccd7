"""Benchmark the reminder engine: planning at scale, and issue 11's "on time under a burst".

    .venv/bin/python bench/bench_reminders.py                                  # everything, the defaults
    .venv/bin/python bench/bench_reminders.py --burst 2000 --subscribers 200   # a short run
    .venv/bin/python bench/bench_reminders.py --only a,b                       # no PostgreSQL needed
    .venv/bin/python bench/bench_reminders.py --no-planning --runs 3           # medians of 3 rounds

1. Plan 1,000 subscriptions x 50 deadlines x 3 lead times (pure `plan_reminders`), then insert them
   into the ledger (idempotent insert) and insert them again (everything already there).
2. The burst, side by side, to one fast receiver in its own process on 127.0.0.1 (it counts requests
   and distinct `webhook-id`s, and which worker process sent each request: matched once after the
   burst, through /proc, on the connections the workers still hold open). `--burst` reminders
   (default 10,000) fall due in the same second across `--subscribers` subscribers (default 1,000; each
   has `burst / subscribers` events sharing one deadline, lead time P1D):
   (a) subscribers with digests (one message per subscriber), one worker, SQLite: first-attempt lateness;
   (b) the same burst one message per reminder, one worker, SQLite: deliveries/s, lateness, the
       worker's peak RSS; beside a bare aiohttp loop (one session, a connector of the same concurrency,
       that many coroutines) and the bare `requests` loop (a session per thread), each in its own process;
   (c) (a) with two worker processes on PostgreSQL (a fresh database, dropped at the end): nothing sent
       twice, and how many messages each worker sent, as the receiver counted them.
   Each worker is a separate process (spawn) running the real `ReminderService` (APScheduler wake-up,
   ledger claims, `WebhookClient`, signing, the attempt log) with `Tuning(concurrency=C)` and Tuning's
   other defaults; every worker of a scenario starts (plans, arms) `--lead-seconds` before one shared
   due instant (default: Tuning's `prepare_ahead` + 3 s, so the engine's preparation window is whole). The
   figures come from the ledger afterwards (first_attempt_at - due_at per reminder row) and from the
   receiver. A worker's peak RSS is VmHWM, reset once it has planned (so: the burst, preparation
   included); CPU seconds are the worker's own, from armed to drained. Loopback only, bounded in count
   (`--burst` <= 50,000) and time (`--max-seconds`). On a small machine the receiver, the worker(s) and
   PostgreSQL share the CPUs: the bare loops meet the same receiver, one process at a time.
   `--runs N` (at most 9): N rounds, each running (a), then (b) and the two bare loops side by side (the
   order reversed every other round, so neither (b) nor bare aiohttp always goes first), then (c); every run
   on a fresh database (a new SQLite file, a new PostgreSQL database for (c)) and a reset receiver. Then
   every run's key figures, the median of each figure, and the ratio (b) / bare aiohttp per round and as
   the median of those per-round ratios; the summary shows medians (peak RSS: median and max). One
   duplicate in any run of any scenario fails its goal.
Goals (issue 11): (a) p99 < 1 s; (b) >= 0.7x the bare async loop; (c) nothing sent twice.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import datetime as dt
import inspect
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue as MpQueue
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import requests
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calendar_service.adapters.clock import SystemClock  # noqa: E402
from calendar_service.adapters.db import create_schema, ledger, make_engine  # noqa: E402
from calendar_service.adapters.db import subscriptions as subs_db  # noqa: E402
from calendar_service.adapters.settings import Settings  # noqa: E402
from calendar_service.adapters.webhooks.client import WebhookClient  # noqa: E402
from calendar_service.adapters.webhooks.security import AddressPolicy  # noqa: E402
from calendar_service.adapters.webhooks.signing import new_secret  # noqa: E402
from calendar_service.core.calendar import Calendar  # noqa: E402
from calendar_service.core.datafile import parse_calendar  # noqa: E402
from calendar_service.core.messages import Message  # noqa: E402
from calendar_service.core.reminders.leadtime import LeadTime  # noqa: E402
from calendar_service.core.reminders.messages import reminder_message_data  # noqa: E402
from calendar_service.core.reminders.planning import plan_reminders  # noqa: E402
from calendar_service.core.subscriptions import Subscription  # noqa: E402
from calendar_service.render.webhook_payloads import render_payload  # noqa: E402
from calendar_service.worker.service import ReminderService, Tuning  # noqa: E402

UTC = dt.UTC


# --- a fast receiver in its own process -----------------------------------------------------------


def _socket_owners(peer_ports: set[int], server_port: int, pids: list[int]) -> dict[int, int]:
    """Which of `pids` holds the client end (local port in `peer_ports`) of each open loopback connection
    to `server_port`: one pass over /proc/net/tcp* and over each process's descriptors."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local = int(parts[1].rsplit(":", 1)[1], 16)
            remote = int(parts[2].rsplit(":", 1)[1], 16)
            if remote == server_port and local in peer_ports:
                inodes[f"socket:[{parts[9]}]"] = local
    owners: dict[int, int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                port = inodes.get(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                continue
            if port is not None:
                owners[port] = pid
    return owners


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    t = os.times()
    return t.user + t.system


def _serve(port_out: MpQueue[int], stop: MpEvent) -> None:
    """An asyncio HTTP/1.1 keep-alive server that answers 200 to every POST and counts webhook-ids.

    GET /stats: counts since the last GET /reset. GET /resolve?pids=1,2 (asked after a burst, while the
    senders still hold their kept-alive connections, so nothing is looked up during the burst): the
    requests of each connection still open attributed to the process of `pids` holding its client end;
    requests on connections closed meanwhile count under "?".
    """
    seen: dict[str, int] = {}
    by_port: dict[int, int] = {}  # requests per client port (per connection)
    by_pid: dict[str, int] = {}
    counts = {"total": 0, "bytes": 0}
    cpu_at_reset = [_cpu_seconds()]
    server_port = 0

    def stats() -> dict[str, Any]:
        return {
            "total": counts["total"],
            "distinct": len(seen),
            "bytes": counts["bytes"],
            "cpu_seconds": _cpu_seconds() - cpu_at_reset[0],
            "repeated_ids": sum(1 for n in seen.values() if n > 1),
            "by_pid": dict(by_pid),
        }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        port = int(peer[1]) if peer else 0
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
                body = b""
                if head.startswith(b"GET /stats"):
                    body = json.dumps(stats()).encode()
                elif head.startswith(b"GET /reset"):
                    seen.clear()
                    by_pid.clear()
                    by_port.clear()
                    counts.update(total=0, bytes=0)
                    cpu_at_reset[0] = _cpu_seconds()
                elif head.startswith(b"GET /resolve?pids="):
                    query = head.split(b" ", 2)[1].partition(b"=")[2].decode()
                    pids = [int(p) for p in query.split(",") if p]
                    owners = _socket_owners(set(by_port), server_port, pids)
                    by_pid.clear()
                    for client_port, n in by_port.items():
                        who = str(owners[client_port]) if client_port in owners else "?"
                        by_pid[who] = by_pid.get(who, 0) + n
                else:
                    counts["total"] += 1
                    counts["bytes"] += length
                    by_port[port] = by_port.get(port, 0) + 1
                    if webhook_id:
                        seen[webhook_id] = seen.get(webhook_id, 0) + 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        nonlocal server_port
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        server_port = server.sockets[0].getsockname()[1]
        port_out.put(server_port)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    asyncio.run(main())


@dataclass
class ReceiverProcess:
    """The receiver process and its URL."""

    process: SpawnProcess
    stop: MpEvent
    url: str

    def _get(self, path: str) -> requests.Response:
        with requests.Session() as session:  # a fresh connection: never counted as a delivery
            response = session.get(self.url + path, timeout=10)
        response.raise_for_status()
        return response

    def stats(self) -> dict[str, Any]:
        return self._get("/stats").json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._get("/reset")

    def resolve(self, pids: list[int]) -> None:
        self._get("/resolve?pids=" + ",".join(map(str, pids)))

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()


def start_receiver() -> ReceiverProcess:
    ctx = mp.get_context("spawn")
    port_out: MpQueue[int] = ctx.Queue()
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
            "id": f"deadline-{i:03d}",
            "title": f"Deadline {i}",
            "kind": "deadline",
            "countries": ["US"],
            "date": d.date().isoformat(),
            "time": d.strftime("%H:%M"),
            "tz": "UTC",
            "deadline": "start",
            "sources": [{"title": "Federal Register", "url": "https://example.com/fr"}],
        }
        for i, d in enumerate(deadlines)
    ]
    doc = {
        "calendar": {
            "name": "Bench",
            "timezone": "UTC",
            "reviewed": "2026-01-01",
            "contact": "bench@example.org",
        },
        "events": events,
    }
    raw = yaml.safe_dump(doc, sort_keys=False).encode()
    return parse_calendar(raw, "bench.yaml", today=dt.date(2026, 1, 1)).calendar


def subscriptions(n: int, url: str, leads: tuple[str, ...], now: dt.datetime) -> list[Subscription]:
    secret = new_secret()
    return [
        Subscription(
            id=f"sub-{i:05d}",
            url=f"{url}/s{i}",
            filter={},
            secret=secret,
            created_at=now,
            updated_at=now,
            lead_times=leads,
        )
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
    print(
        f"plan_reminders: {len(plan):,} reminders (1,000 subs x 50 deadlines x 3 lead times) "
        f"in {planned:.2f} s ({len(plan) / planned:,.0f}/s)"
    )
    engine = make_engine(database_url)
    create_schema(engine)
    rows = [
        {
            "id": r.id,
            "subscription_id": r.subscription_id,
            "kind": "reminder.due",
            "event_id": r.event_id,
            "lead_time": r.lead_time,
            "due_at": r.due_at,
            "deadline_at": r.deadline_at,
        }
        for r in plan
    ]
    t0 = time.perf_counter()
    added = ledger.add_rows(engine, rows, now=now)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = ledger.add_rows(engine, rows, now=now)
    second = time.perf_counter() - t0
    print(
        f"ledger insert:  {added:,} new rows in {first:.2f} s; the same plan again: {again} new "
        f"in {second:.2f} s (idempotent)"
    )
    engine.dispose()


# --- 2. burst: the clock, percentiles, memory -----------------------------------------------------


@dataclass
class OffsetClock:
    """The system clock moved by a fixed offset, so a minute-precision due time can be a moment away."""

    offset: dt.timedelta
    system: SystemClock = field(default_factory=SystemClock)

    def now(self) -> dt.datetime:
        return self.system.now() + self.offset


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _proc_status_kb(field_name: str) -> int | None:
    """A `kB` field of /proc/self/status (VmHWM: peak resident set, VmRSS: resident now)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# Bench scenario names, the letters.
DIGESTS, SINGLE, TWO_WORKERS = "a", "b", "c"

DEADLINE = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUE = DEADLINE - dt.timedelta(days=1)  # lead time P1D: every reminder of the burst falls due here


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs; `ring_at` (epoch seconds) comes later, through its `go` queue."""

    database_url: str
    events: int
    concurrency: int
    max_seconds: float
    timeout: float


def _worker_main(spec: WorkerSpec, go: MpQueue[float], out: MpQueue[Any]) -> None:
    """One reminder worker: the real ReminderService, started so that DUE falls at wall time `ring_at`."""
    result: dict[str, Any] = {"pid": os.getpid()}
    try:
        engine = make_engine(spec.database_url)
        create_schema(engine)
        calendar = calendar_of([DEADLINE] * spec.events)
        settings = Settings(allow_private_webhooks=True, webhook_timeout=spec.timeout)
        out.put(("ready", os.getpid()))
        ring_at = float(go.get(timeout=120))
        # Every process of a scenario gets the same wall instant; each computes its own offset from it.
        clock = OffsetClock(DUE - dt.datetime.fromtimestamp(ring_at, UTC))
        client = WebhookClient(AddressPolicy(allow_private=True), timeout=spec.timeout, clock=clock)
        service = ReminderService(
            settings, engine, calendar, clock, client, tuning=Tuning(concurrency=spec.concurrency)
        )
        t0 = time.time()
        service.start()
        result["start_seconds"] = time.time() - t0
        result["started_before_due"] = time.time() < ring_at
        result["rss_before_kb"] = _proc_status_kb("VmRSS")
        result["peak_reset"] = _reset_peak_rss()  # so VmHWM below is the peak from here on: the burst
        cpu0 = _cpu_seconds()
        limit = ring_at + spec.max_seconds
        result["timed_out"] = True
        pending = select(func.count()).select_from(ledger.outbox).where(ledger.outbox.c.state == "pending")
        while time.time() < limit:
            time.sleep(0.2)  # the figures come from the ledger's times, not from this poll
            with engine.connect() as conn:
                left = conn.execute(pending).scalar_one()
            if time.time() > ring_at and left == 0:
                result["timed_out"] = False
                break
        result["done_at"] = time.time()
        result["cpu_seconds"] = _cpu_seconds() - cpu0
        result["wall_seconds"] = result["done_at"] - (t0 + result["start_seconds"])  # armed to done
        out.put(("drained", os.getpid()))
        go.get(timeout=120)  # the receiver attributes the connections this process still holds, then:
        service.shutdown()
        try:
            close = getattr(client, "aclose", None) or getattr(client, "close", None)
            closing = close() if close is not None else None
            if inspect.isawaitable(closing):  # an async client: close it on a loop of its own
                asyncio.run(_await(closing))
        except Exception as exc:  # closed by the service already, say: not a failure of the burst
            result["close_error"] = f"{type(exc).__name__}: {exc}"
        engine.dispose()
    except BaseException as exc:  # reported to the parent, which prints it
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["peak_rss_kb"] = _proc_status_kb("VmHWM")
    out.put(("done", result))


async def _await(awaitable: Any) -> None:
    await awaitable


@dataclass
class ScenarioResult:
    """The figures of one service scenario, from the database and the receiver."""

    name: str
    title: str
    expected: int  # messages a correct run sends
    reminders: int = 0
    states: dict[str, int] = field(default_factory=dict)
    lateness: list[float] = field(default_factory=list)  # per reminder row: first attempt - due
    attempts: int = 0  # rows in delivery_attempts
    attempt_ids: int = 0  # distinct webhook-ids among them
    span: float = float("nan")  # last finished - first attempt
    rate: float = float("nan")  # rows (b) or messages (a, c) per second of span
    rate_unit: str = ""
    received: dict[str, Any] = field(default_factory=dict)
    workers: list[dict[str, Any]] = field(default_factory=list)
    concurrency: int = 0

    @property
    def duplicates(self) -> int:
        return int(self.received.get("total", 0)) - int(self.received.get("distinct", 0))

    @property
    def once_each(self) -> bool:
        r = self.received
        return bool(r) and r.get("total") == r.get("distinct") == self.expected

    @property
    def peak_rss_kb(self) -> int:
        return max((w.get("peak_rss_kb") or 0 for w in self.workers), default=0)


def create_subscribers(engine: Engine, n: int, url: str, *, digest: bool) -> None:
    now = SystemClock().now()
    secret = new_secret()
    for i in range(n):
        subs_db.create_subscription(
            engine,
            Subscription(
                id=f"sub-{i:05d}",
                url=f"{url}/s{i}",
                filter={},
                secret=secret,
                created_at=now,
                updated_at=now,
                lead_times=("P1D",),
                digest=digest,
            ),
        )


def run_scenario(
    name: str,
    title: str,
    database_url: str,
    receiver: ReceiverProcess,
    *,
    digest: bool,
    workers: int,
    burst: int,
    subscribers: int,
    concurrency: int,
    max_seconds: float,
    lead_seconds: float,
) -> ScenarioResult:
    """Subscribers first, then `workers` worker processes that all ring at one instant; figures after."""
    events = burst // subscribers
    result = ScenarioResult(name, title, subscribers if digest else burst, concurrency=concurrency)
    engine = make_engine(database_url)
    create_schema(engine)
    create_subscribers(engine, subscribers, receiver.url, digest=digest)
    receiver.reset()
    ctx = mp.get_context("spawn")
    out: MpQueue[Any] = ctx.Queue()
    spec = WorkerSpec(database_url, events, concurrency, max_seconds, timeout=10.0)
    gos: list[MpQueue[float]] = [ctx.Queue() for _ in range(workers)]
    procs = [ctx.Process(target=_worker_main, args=(spec, go, out), daemon=True) for go in gos]
    for p in procs:
        p.start()
    try:
        pids = [_expect(out, "ready", 120) for _ in procs]
        ring_at = time.time() + lead_seconds  # plan and arm in the lead time, then the alarm rings
        for go in gos:
            go.put(ring_at)
        deadline = ring_at + max_seconds + 120
        drained = 0
        while drained + len(result.workers) < len(procs):  # a worker that failed says "done" at once
            kind, value = out.get(timeout=max(1.0, deadline - time.time()))
            if kind == "drained":
                drained += 1
            else:
                result.workers.append(value)
        receiver.resolve(pids)  # which worker sent what, while each still holds its connections
        for go in gos:
            go.put(0.0)  # shut down
        for _ in range(drained):
            result.workers.append(_expect(out, "done", 120))
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    result.received = receiver.stats()
    _read_ledger(engine, result, digest)
    engine.dispose()
    return result


def _expect(out: MpQueue[Any], kind: str, timeout: float) -> Any:
    got, value = out.get(timeout=timeout)
    if got != kind:
        raise RuntimeError(f"expected {kind!r} from a worker, got {got!r}: {value}")
    return value


def _read_ledger(engine: Engine, result: ScenarioResult, digest: bool) -> None:
    rows = ledger.list_rows(engine)
    result.reminders = len(rows)
    result.states = ledger.count_by_state(engine)
    result.lateness = [
        (r["first_attempt_at"] - r["due_at"]).total_seconds()
        for r in rows
        if r["first_attempt_at"] is not None
    ]
    with engine.connect() as conn:
        result.attempts, result.attempt_ids = conn.execute(
            select(func.count(), func.count(ledger.attempts.c.outbox_id.distinct()))
        ).one()
    started = [r["first_attempt_at"] for r in rows if r["first_attempt_at"] is not None]
    finished = [r["finished_at"] for r in rows if r["finished_at"] is not None]
    if started and finished:
        result.span = (max(finished) - min(started)).total_seconds()
        delivered = result.states.get("delivered", 0)
        if digest:
            result.rate, result.rate_unit = result.attempts / result.span, "messages/s"
        else:
            result.rate, result.rate_unit = delivered / result.span, "deliveries/s"


# --- bare loops, each in a process of its own -----------------------------------------------------


def realistic_body() -> bytes:
    """One real `reminder.due` body, rendered as the service renders it (for the bare loops' size)."""
    calendar = calendar_of([DEADLINE])
    event = next(iter(calendar))
    row = ledger.Claimed(
        id="rem_" + "0" * 40,
        subscription_id="sub-00000",
        kind="reminder.due",
        event_id=event.id,
        lead_time=LeadTime.parse("P1D"),
        payload=None,
        due_at=DUE,
        deadline_at=DEADLINE,
        attempts=0,
        late=False,
        first_attempt_at=None,
    )
    data = reminder_message_data(row, calendar, DUE, False, "")
    return render_payload(Message(id=row.id, type=row.kind, timestamp=DUE, data=data), "standard")


def _bare_main(kind: str, url: str, count: int, concurrency: int, body: bytes, out: MpQueue[Any]) -> None:
    try:
        if kind == "aiohttp":
            import aiohttp  # noqa: F401 - imported before the CPU clock starts
        cpu0 = _cpu_seconds()
        if kind == "aiohttp":
            elapsed, starts = asyncio.run(_bare_aiohttp(url, count, concurrency, body))
        else:
            elapsed, starts = _bare_requests(url, count, concurrency, body)
        cpu = _cpu_seconds() - cpu0
        out.put(
            {
                "elapsed": elapsed,
                "cpu_seconds": cpu,
                "rate": count / elapsed,
                "p50": percentile(starts, 0.5),
                "p99": percentile(starts, 0.99),
                "max": max(starts),
                "peak_rss_kb": _proc_status_kb("VmHWM"),
            }
        )
    except BaseException as exc:
        out.put({"error": f"{type(exc).__name__}: {exc}"})


async def _bare_aiohttp(url: str, count: int, concurrency: int, body: bytes) -> tuple[float, list[float]]:
    """The fastest plain async client: one session, a connector of `concurrency`, that many coroutines."""
    import aiohttp

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    starts: list[float] = []
    target = f"{url}/bare-async"
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def work() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                starts.append(time.perf_counter())
                headers = {"webhook-id": f"bare-async-{i}", "Content-Type": "application/json"}
                async with session.post(target, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"receiver answered {response.status}")

        t0 = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return elapsed, [s - t0 for s in starts]


def _bare_requests(url: str, count: int, concurrency: int, body: bytes) -> tuple[float, list[float]]:
    """The existing bare loop: a requests.Session per thread, `concurrency` threads."""
    local = threading.local()
    target = f"{url}/bare-requests"

    def post(i: int) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        headers = {"webhook-id": f"bare-requests-{i}", "Content-Type": "application/json"}
        response = session.post(target, data=body, headers=headers, timeout=10)
        response.close()
        return started

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrency) as pool:
        starts = list(pool.map(post, range(count)))
    elapsed = time.perf_counter() - t0
    return elapsed, [s - t0 for s in starts]


def run_bare(
    kind: str, receiver: ReceiverProcess, count: int, concurrency: int, body: bytes
) -> dict[str, Any]:
    receiver.reset()
    ctx = mp.get_context("spawn")
    out: MpQueue[Any] = ctx.Queue()
    args = (kind, receiver.url, count, concurrency, body, out)
    process = ctx.Process(target=_bare_main, args=args, daemon=True)
    process.start()
    try:
        result: dict[str, Any] = out.get(timeout=600)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
    result["received"] = receiver.stats()
    return result


# --- a fresh PostgreSQL database for (c) ------------------------------------------------------------


def create_database(admin_url: str) -> str:
    """CREATE DATABASE bench_reminders_<random> through `admin_url`; return its URL."""
    name = f"bench_reminders_{uuid.uuid4().hex[:12]}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + name))


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(admin_url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE cannot run inside one)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def empty_tables(url: str) -> None:
    """Empty the ledger and the subscriptions of a given `--database-url` before a scenario uses it."""
    engine = make_engine(url)
    create_schema(engine)
    with engine.begin() as conn:
        for table in (ledger.attempts, ledger.outbox, subs_db.subscriptions):
            conn.execute(table.delete())
    engine.dispose()


# --- reporting -------------------------------------------------------------------------------------


def print_scenario(r: ScenarioResult) -> None:
    late = r.lateness
    print(f"({r.name}) {r.title}")
    print(
        f"    ledger:   {r.reminders:,} reminders, states {r.states}; {r.attempts:,} attempts logged "
        f"({r.attempt_ids:,} distinct webhook-ids), expected {r.expected:,} messages"
    )
    print(
        f"    lateness: first attempt - due, per reminder: p50 {percentile(late, 0.5):.3f} s, "
        f"p99 {percentile(late, 0.99):.3f} s, max {max(late, default=float('nan')):.3f} s, "
        f"min {min(late, default=float('nan')):.3f} s"
    )
    print(f"    rate:     {r.rate:,.0f} {r.rate_unit} over {r.span:.2f} s (first attempt to last finished)")
    rec = r.received
    print(
        f"    receiver: {rec.get('total', 0):,} requests, {rec.get('distinct', 0):,} distinct webhook-ids, "
        f"{rec.get('repeated_ids', 0)} id(s) seen more than once, "
        f"mean body {rec.get('bytes', 0) / max(1, rec.get('total', 0)):,.0f} B, "
        f"receiver CPU {rec.get('cpu_seconds', float('nan')):.2f} s"
    )
    for w in r.workers:
        sent = rec.get("by_pid", {}).get(str(w.get("pid")), 0)
        start = w.get("start_seconds", float("nan"))
        print(
            f"    worker pid {w.get('pid')}: start (plan + arm) {start:.2f} s, "
            f"armed before due: {w.get('started_before_due')}, RSS after planning "
            f"{(w.get('rss_before_kb') or 0) / 1024:.0f} MiB, peak RSS "
            f"{'during the burst' if w.get('peak_reset') else 'of the process'} "
            f"{(w.get('peak_rss_kb') or 0) / 1024:.0f} MiB, CPU from armed to done "
            f"{w.get('cpu_seconds', float('nan')):.2f} s in {w.get('wall_seconds', float('nan')):.2f} s, "
            f"timed out: {w.get('timed_out')}, "
            f"requests at the receiver: {sent:,}"
            + (f", ERROR {w['error']}" if w.get("error") else "")
            + (f", closing the client: {w['close_error']}" if w.get("close_error") else "")
        )
    unknown = rec.get("by_pid", {}).get("?", 0)
    if unknown:
        print(f"    receiver: {unknown:,} request(s) on connections it could not attribute to a worker")


def print_bare(kind: str, b: dict[str, Any], count: int, concurrency: int) -> None:
    if "error" in b:
        print(f"    bare {kind}: ERROR {b['error']}")
        return
    rec = b["received"]
    print(
        f"    bare {kind:8} ({concurrency} concurrent, own process): {count:,} POSTs "
        f"in {b['elapsed']:.2f} s "
        f"= {b['rate']:,.0f}/s; start - t0: p50 {b['p50']:.3f} s, p99 {b['p99']:.3f} s, "
        f"max {b['max']:.3f} s; CPU {b['cpu_seconds']:.2f} s; peak RSS {b['peak_rss_kb'] / 1024:.0f} MiB; "
        f"receiver {rec['total']:,} requests, {rec['distinct']:,} distinct, "
        f"receiver CPU {rec.get('cpu_seconds', float('nan')):.2f} s"
    )


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


# --- several runs: each run's figures, their medians, the per-round ratios --------------------------


def median_of(values: list[float]) -> float:
    """The median (of an even count: the mean of the middle two); NaN if any value is NaN, so a run that
    lacks a figure is not quietly left out of it."""
    if not values or any(math.isnan(v) for v in values):
        return float("nan")
    return float(statistics.median(values))


def scenario_figures(r: ScenarioResult) -> dict[str, float]:
    """The key figures of one service run, as the summary shows them."""
    late = r.lateness
    return {
        "messages": float(r.received.get("total", 0)),
        "p50": percentile(late, 0.5),
        "p99": percentile(late, 0.99),
        "max": max(late, default=float("nan")),
        "rate": r.rate,
        "rss_kb": float(r.peak_rss_kb),
        "dups": float(r.duplicates),
        "cpu_us": _per_message_us(sum(w.get("cpu_seconds", float("nan")) for w in r.workers), r.received),
    }


def _per_message_us(cpu_seconds: float, received: dict[str, Any]) -> float:
    """CPU microseconds per message the receiver got (NaN when it got none)."""
    total = int(received.get("total", 0))
    return cpu_seconds / total * 1e6 if total else float("nan")


def bare_figures(b: dict[str, Any]) -> dict[str, float]:
    """The key figures of one bare loop run (p50, p99, max: request start - t0)."""
    rec = b["received"]
    return {
        "messages": float(rec["total"]),
        "p50": b["p50"],
        "p99": b["p99"],
        "max": b["max"],
        "rate": b["rate"],
        "rss_kb": float(b["peak_rss_kb"] or 0),
        "dups": float(rec["total"] - rec["distinct"]),
        "cpu_us": _per_message_us(b.get("cpu_seconds", float("nan")), rec),
    }


def medians(figures: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs, each on its own (not the figures of one median run)."""
    return {key: median_of([f[key] for f in figures]) for key in figures[0]}


def round_ratios(rates: list[float | None], aiohttp: list[dict[str, Any]]) -> list[float | None]:
    """Each round's rate over the bare aiohttp loop of the same round; None where either is missing."""
    return [
        rate / a["rate"] if rate is not None and "error" not in a and a["rate"] else None
        for rate, a in zip(rates, aiohttp, strict=True)
    ]


def round_cpu_ratios(results: list[ScenarioResult], aiohttp: list[dict[str, Any]]) -> list[float | None]:
    """Each round's worker CPU per message over the bare aiohttp loop's in the same round."""
    out: list[float | None] = []
    for r, a in zip(results, aiohttp, strict=True):
        mine = scenario_figures(r)["cpu_us"]
        bare = float("nan") if "error" in a else bare_figures(a)["cpu_us"]
        out.append(None if math.isnan(mine) or math.isnan(bare) or not bare else mine / bare)
    return out


def bare_rates(runs: list[dict[str, Any]]) -> list[float | None]:
    return [None if "error" in b else float(b["rate"]) for b in runs]


def _ratio_list(ratios: list[float | None]) -> str:
    return ", ".join("-" if x is None else f"{x:.2f}" for x in ratios)


def _run_line(f: dict[str, float]) -> str:
    return (
        f"p50 {f['p50']:6.3f} s  p99 {f['p99']:6.3f} s  rate {f['rate']:>7,.0f}/s  "
        f"dups {f['dups']:>3.0f}  peak RSS {f['rss_kb'] / 1024:>4.0f} MiB  CPU/msg {f['cpu_us']:>4.0f} us"
    )


def print_runs(runs: dict[str, list[ScenarioResult]], bare: dict[str, list[dict[str, Any]]], n: int) -> None:
    """Every run's key figures, one line each in round order, then the median of each figure."""
    print()
    print(
        f"every run ({n} rounds; each run with a fresh database and a reset receiver), then the MEDIAN "
        f"of each figure over the runs (each figure's own median, not one median run's figures)"
    )
    aiohttp = bare.get("aiohttp", [])
    for key, results in runs.items():
        print(f"({key}) {results[0].title}")
        figures = [scenario_figures(r) for r in results]
        ratios = round_ratios([r.rate for r in results], aiohttp) if key == SINGLE and aiohttp else []
        cpu_ratios = round_cpu_ratios(results, aiohttp) if ratios else []
        for i, (r, f) in enumerate(zip(results, figures, strict=True)):
            extra = ""
            if ratios:
                extra = (
                    f"  service / bare aiohttp of round {i + 1}: {_ratio_list([ratios[i]])}, "
                    f"CPU/msg {_ratio_list([cpu_ratios[i]])}x its"
                )
            if key == TWO_WORKERS:
                by_pid = r.received.get("by_pid", {})
                sent = " + ".join(f"{by_pid.get(str(w.get('pid')), 0):,}" for w in r.workers)
                extra = f"  sent by worker: {sent}"
                if "?" in by_pid:
                    extra += f", unattributed {by_pid['?']:,}"
            if not r.once_each:
                extra += f"  NOT once each ({r.received.get('total', 0):,} requests, "
                extra += f"{r.received.get('distinct', 0):,} distinct, {r.expected:,} expected)"
            print(f"    run {i + 1}: {_run_line(f)}{extra}")
        m = medians(figures)
        print(
            f"    median: {_run_line(m)} (max {max(f['rss_kb'] for f in figures) / 1024:.0f} MiB); "
            f"dups over all runs: {sum(r.duplicates for r in results)}"
        )
        if ratios:
            known = [x for x in ratios if x is not None]
            async_med = median_of(bare_rates_known(aiohttp))
            print(
                f"    service / bare aiohttp: {median_of(known):.2f} = the MEDIAN OF THE PER-ROUND RATIOS "
                f"({_ratio_list(ratios)}); the ratio of the two medians would be "
                f"{m['rate'] / async_med:.2f} (goal >= 0.7)"
            )
            print(
                f"    worker CPU per message / bare aiohttp's: "
                f"{median_of([x for x in cpu_ratios if x is not None]):.2f} = the median of the per-round "
                f"ratios ({_ratio_list(cpu_ratios)}) (goal <= 2)"
            )
    for kind, loops in bare.items():
        print(f"   bare {kind}")
        ok = [b for b in loops if "error" not in b]
        for i, b in enumerate(loops):
            print(
                f"    run {i + 1}: " + (f"ERROR {b['error']}" if "error" in b else _run_line(bare_figures(b)))
            )
        if ok:
            figures = [bare_figures(b) for b in ok]
            print(
                f"    median: {_run_line(medians(figures))} (max "
                f"{max(f['rss_kb'] for f in figures) / 1024:.0f} MiB)"
                + (f"; of {len(ok)} runs without an error" if len(ok) < len(loops) else "")
            )


def bare_rates_known(runs: list[dict[str, Any]]) -> list[float]:
    return [r for r in bare_rates(runs) if r is not None]


class Row(NamedTuple):
    """One line of the summary table."""

    label: str
    figures: dict[str, float]  # one run's, or the medians of the runs
    ratio: float | None
    rss_max_kb: float
    dups: int  # one run's, or all runs' added up
    goal: str


def summary_rows(
    runs: dict[str, list[ScenarioResult]], bare: dict[str, list[dict[str, Any]]], n: int
) -> list[Row]:
    aiohttp = bare.get("aiohttp", [])
    rows: list[Row] = []
    for key, results in runs.items():
        figures = [scenario_figures(r) for r in results]
        fig = figures[0] if n == 1 else medians(figures)
        dups = sum(r.duplicates for r in results)
        ratio: float | None = None
        if key == DIGESTS:
            goal = f"p99 < 1 s: {verdict(fig['p99'] < 1)}"
            if n > 1:
                goal += f" (median; {sum(f['p99'] < 1 for f in figures)} of {n} runs)"
        elif key == SINGLE:
            ratios = [x for x in round_ratios([r.rate for r in results], aiohttp) if x is not None]
            ratio = (ratios[0] if n == 1 else median_of(ratios)) if ratios else None
            goal = f">= 0.7x bare async: {verdict(None if ratio is None else ratio >= 0.7)}"
            if n > 1 and ratios:
                goal += f" (median ratio; {sum(x >= 0.7 for x in ratios)} of {len(ratios)} rounds)"
            cpu = [x for x in round_cpu_ratios(results, aiohttp) if x is not None] if aiohttp else []
            if cpu:
                cpu_ratio = cpu[0] if n == 1 else median_of(cpu)
                goal += f"; CPU/msg {cpu_ratio:.2f}x bare's, <= 2x: {verdict(cpu_ratio <= 2)}"
        else:
            once = sum(r.once_each for r in results)
            goal = f"nothing sent twice: {verdict(once == len(results))}"
            if n > 1:
                goal += f" (every run: {once} of {n} once each)"
        if key != TWO_WORKERS and dups:  # strict in every scenario: one duplicate in one run fails it
            goal += f"; nothing sent twice: NOT met ({dups} dup(s) over {n} run(s))"
        label = f"{key}) {results[0].title.split(':')[0]}"
        rows.append(Row(label, fig, ratio, max(f["rss_kb"] for f in figures), dups, goal))
    for kind, loops in bare.items():
        ok = [b for b in loops if "error" not in b]
        if not ok:
            continue
        figures = [bare_figures(b) for b in ok]
        fig = figures[0] if n == 1 else medians(figures)
        ratios = [x for x in round_ratios(bare_rates(loops), aiohttp) if x is not None] if aiohttp else []
        ratio = (ratios[0] if n == 1 else median_of(ratios)) if ratios else None
        label = "   bare " + kind + ("" if len(ok) == len(loops) else f" ({len(ok)} of {len(loops)} runs)")
        rows.append(
            Row(
                label, fig, ratio, max(f["rss_kb"] for f in figures), int(sum(f["dups"] for f in figures)), ""
            )
        )
    return rows


def print_summary(
    runs: dict[str, list[ScenarioResult]],
    bare: dict[str, list[dict[str, Any]]],
    concurrency: int,
    n: int = 1,
) -> None:
    print()
    if n == 1:
        print(f"summary (concurrency {concurrency})")
    else:
        print(f"summary (concurrency {concurrency}): MEDIANS OF {n} RUNS, each column's median on its own;")
        print(
            "    ratio: the median of the per-round ratios (each run's rate over the bare aiohttp loop of "
            "its own round);"
        )
        print("    peak RSS: median / max over the runs; dups: all runs added up (any one fails the goal)")
    rss_head = "peak RSS" if n == 1 else "peak RSS med/max"
    head = (
        f"{'scenario':30} {'messages':>9} {'p50 s':>7} {'p99 s':>7} {'max s':>7} {'rate/s':>8} "
        f"{'ratio':>6} {rss_head:>{9 if n == 1 else 16}} {'dups':>5}  goal"
    )
    print(head)
    print("-" * len(head))
    for row in summary_rows(runs, bare, n):
        f = row.figures
        rss = (
            f"{f['rss_kb'] / 1024:>5.0f} MiB"
            if n == 1
            else f"{f['rss_kb'] / 1024:>6.0f} /{row.rss_max_kb / 1024:>4.0f} MiB"
        )
        line = (
            f"{row.label:30.30} {f['messages']:>9,.0f} {f['p50']:>7.3f} {f['p99']:>7.3f} "
            f"{f['max']:>7.3f} {f['rate']:>8,.0f} {'' if row.ratio is None else f'{row.ratio:.2f}':>6} "
            f"{rss} {row.dups:>5}"
        )
        print(f"{line}  {row.goal}" if row.goal else line)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="for planning, (a) and (b); default: a SQLite file each in a temp dir. Given, "
        "its ledger and subscriptions are emptied before each: point it at a scratch db",
    )
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="(c) creates a fresh database through this URL (one per run) and drops it",
    )
    parser.add_argument("--burst", type=int, default=10_000, help="reminders due in the same second")
    parser.add_argument("--subscribers", type=int, default=1_000, help="the burst is spread over these")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help=f"sends in flight, service and bare loops alike (default: Tuning's, {Tuning().concurrency})",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=240.0,
        help="stop waiting for a burst after (each run of each scenario)",
    )
    ahead = getattr(Tuning(), "prepare_ahead", dt.timedelta(0)).total_seconds()
    parser.add_argument(
        "--lead-seconds",
        type=float,
        default=3.0 + ahead,
        help="the workers start (plan, arm) this long before the due instant; default 3 s "
        f"more than Tuning's prepare_ahead ({ahead:g} s), so the engine gets the whole "
        "of its preparation window, as reminders planned days ahead do",
    )
    parser.add_argument("--only", default="a,b,c", help="scenarios to run, of a,b,c (planning runs with any)")
    parser.add_argument("--no-planning", action="store_true", help="skip part 1")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="rounds (1 to 9): each runs every scenario once, (b) and the two bare loops "
        "side by side in an order reversed every other round, each on a fresh database "
        "and a reset receiver; the summary then shows medians",
    )
    args = parser.parse_args()
    if not 1 <= args.burst <= 50_000:
        parser.error("--burst must be between 1 and 50,000")
    if not 1 <= args.subscribers <= args.burst or args.burst % args.subscribers:
        parser.error("--subscribers must divide --burst (each subscriber gets burst/subscribers reminders)")
    if args.burst // args.subscribers > 500:
        parser.error("at most 500 reminders per subscriber (events sharing one deadline)")
    if not 0 < args.max_seconds <= 1800:
        parser.error("--max-seconds must be in (0, 1800]")
    if not 1 <= args.runs <= 9:
        parser.error("--runs must be between 1 and 9")
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if not only <= {DIGESTS, SINGLE, TWO_WORKERS}:
        parser.error("--only takes a comma-separated subset of a,b,c")
    concurrency = args.concurrency or Tuning().concurrency
    common = {
        "burst": args.burst,
        "subscribers": args.subscribers,
        "concurrency": concurrency,
        "max_seconds": args.max_seconds,
        "lead_seconds": args.lead_seconds,
    }
    per_sub = args.burst // args.subscribers
    n = args.runs
    print(
        f"concurrency {concurrency} ({'given' if args.concurrency else 'the Tuning default'}); burst "
        f"{args.burst:,} reminders = {args.subscribers:,} subscribers x {per_sub} events sharing one "
        f"deadline; "
        f"{os.cpu_count()} CPUs shared by the receiver, the worker(s) and the database; workers start "
        f"{args.lead_seconds:g} s before the due instant" + (f"; {n} rounds" if n > 1 else "")
    )
    with tempfile.TemporaryDirectory() as tmp:

        def url_for(name: str) -> str:
            if not args.database_url:
                return f"sqlite:///{tmp}/{name}.sqlite3"  # a new file for each run
            empty_tables(args.database_url)
            return str(args.database_url)

        def title(url: str, text: str) -> str:
            return f"{text}, one worker, {url.split(':')[0].split('+')[0]}"

        if not args.no_planning:
            bench_planning(url_for("plan"))
        receiver = start_receiver()
        runs: dict[str, list[ScenarioResult]] = {}
        bare: dict[str, list[dict[str, Any]]] = {}
        body = realistic_body()
        told_body = False
        try:
            for i in range(n):
                run = "" if n == 1 else f"-{i + 1}"
                # (b) and the bare loops side by side, the order reversed every other round: neither of
                # (b) and bare aiohttp always goes first, and each round's ratio compares neighbours.
                order = ["service", "aiohttp", "requests"] if SINGLE in only else []
                if i % 2:
                    order.reverse()
                if n > 1:
                    steps = (
                        ([f"({DIGESTS})"] if DIGESTS in only else [])
                        + [f"({SINGLE})" if s == "service" else f"bare {s}" for s in order]
                        + ([f"({TWO_WORKERS})"] if TWO_WORKERS in only else [])
                    )
                    print(f"\nround {i + 1} of {n}: {', '.join(steps)}")

                def one_worker(key: str, url: str, what: str, *, digest: bool) -> None:
                    result = run_scenario(
                        key, title(url, what), url, receiver, digest=digest, workers=1, **common
                    )
                    runs.setdefault(key, []).append(result)
                    print_scenario(result)

                if DIGESTS in only:
                    one_worker(
                        DIGESTS,
                        url_for("a" + run),
                        f"digests: {args.subscribers:,} digest messages of {per_sub}",
                        digest=True,
                    )
                for step in order:
                    if step == "service":
                        one_worker(
                            SINGLE,
                            url_for("b" + run),
                            f"one message per reminder: {args.burst:,} messages",
                            digest=False,
                        )
                        continue
                    if not told_body:
                        print(
                            f"    bare loops: a real reminder.due body of {len(body)} B, no signing, "
                            f"webhook-id per request, the same receiver"
                        )
                        told_body = True
                    loop = run_bare(step, receiver, args.burst, concurrency, body)
                    bare.setdefault(step, []).append(loop)
                    print_bare(step, loop, args.burst, concurrency)
                if order and "error" not in bare["aiohttp"][-1]:
                    ratio = runs[SINGLE][-1].rate / bare["aiohttp"][-1]["rate"]
                    print(
                        f"    service / bare aiohttp: {ratio:.2f} "
                        + ("(goal >= 0.7)" if n == 1 else "(this round; goal >= 0.7 on the median)")
                    )
                if TWO_WORKERS in only:
                    pg_url = create_database(args.pg_admin_url)  # a fresh database for each run
                    try:
                        result = run_scenario(
                            TWO_WORKERS,
                            "two workers: (a) on PostgreSQL, two worker processes",
                            pg_url,
                            receiver,
                            digest=True,
                            workers=2,
                            **common,
                        )
                    finally:
                        drop_database(args.pg_admin_url, pg_url)
                    runs.setdefault(TWO_WORKERS, []).append(result)
                    print_scenario(result)
        finally:
            receiver.close()
        if n > 1:
            print_runs(runs, bare, n)
        print_summary(runs, bare, concurrency, n)


if __name__ == "__main__":
    main()
