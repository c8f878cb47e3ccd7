"""Benchmark reminder planning (issue 17, finding 6): the cost of one data change, beside one subscription.

    .venv/bin/python bench/bench_planning.py                         # 100 / 1,000 / 10,000 subscriptions
    .venv/bin/python bench/bench_planning.py --subscriptions 100,1000 --runs 5
    .venv/bin/python bench/bench_planning.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

For each number of subscriptions, on a fresh database (a SQLite file; with `--postgres`, also a fresh
schema on that server, dropped at the end): a calendar of `--events` generated events
(`bench/generate.py`, the same every run), `--affected` subscriptions with no filter (every event is
theirs) and the rest filtered to a country the edited event does not have (and a tag): they are
unaffected by the edit. The real `ReminderService` (no scheduler, no sending) plans everything once at
start-up (timed once), then, `--runs` times each, median printed:

- data change: one live event's deadline moves by a day (and back on the next run: every run is a real
  change), as `LiveCalendar` reports it: `on_calendar_change(old, new)` - the events that differ are
  reconciled against their subscribers, and the notices are queued;
- one subscription: one subscription's lead times are changed in the database and
  `reconcile_subscriptions([id])` runs, as the API's PATCH does;
- inputs read: `planning_inputs` of every subscription alone, what a wake-up reads to see whether
  another process changed one (a data change reads only those written lately, and their count).

Goal: the data change flat in the number of unaffected subscriptions. Issue 17 measured ~11.5 s for one
data change at 5,200 subscriptions before reconciliation (every change re-planned every subscription).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import insert, text, update
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import COUNTRIES, TAGS, generate_yaml  # noqa: E402
from calendar_service.adapters.clock import SettableClock  # noqa: E402
from calendar_service.adapters.db import create_schema, ledger, make_engine  # noqa: E402
from calendar_service.adapters.db import subscriptions as subs_db  # noqa: E402
from calendar_service.adapters.settings import Settings  # noqa: E402
from calendar_service.adapters.webhooks.client import WebhookClient  # noqa: E402
from calendar_service.adapters.webhooks.security import AddressPolicy  # noqa: E402
from calendar_service.core.calendar import Calendar, Event  # noqa: E402
from calendar_service.core.datafile import parse_calendar  # noqa: E402
from calendar_service.worker.service import ReminderService  # noqa: E402

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # before every generated date: every deadline is ahead
LEADS = (["P7D", "P1D", "PT1H"], ["P3D", "PT2H"])


def calendars(events: int) -> tuple[Calendar, Calendar, Event]:
    """The generated calendar, the same with one event's deadline a day later, and that event."""
    base = parse_calendar(generate_yaml(events, seed=17).encode(), "bench.yaml", today=NOW.date()).calendar
    edited = next(
        e
        for e in base
        if e.is_live and e.deadline_at is not None and e.deadline_at > NOW and "*" not in e.countries
    )
    moved = replace(edited, deadline_at=edited.deadline_at + dt.timedelta(days=1))  # type: ignore[operator]
    events_ = tuple(moved if e.id == edited.id else e for e in base.events)
    return base, Calendar(base.meta, events_, f"{base.version}-moved", actions=base.actions), edited


def add_subscriptions(engine: Engine, count: int, affected: int, edited: Event) -> list[str]:
    """`affected` subscriptions to everything; the rest to a country the edited event does not have and
    a tag (a few events each: the ledger stays small enough to build at 10,000 subscriptions)."""
    others = [c for c in COUNTRIES if c not in edited.countries and c != "*"]
    rows = []
    for i in range(count):
        created = NOW - dt.timedelta(hours=count - i)  # over the past months, one an hour, as a list grows
        narrow = {"country": [others[i % len(others)]], "tag": [TAGS[i // len(others) % len(TAGS)]]}
        flt = {} if i < affected else narrow
        rows.append({
            "id": f"sub_{uuid.uuid4().hex[:20]}", "url": f"https://hooks.example/{i}", "filter": flt,
            "lead_times": LEADS[0], "format": "standard", "digest": False, "secret": "whsec_bench",
            "enabled": True, "disabled_reason": None, "failure_count": 0,
            "created_at": created, "updated_at": created,
        })  # fmt: skip
    with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(insert(subs_db.subscriptions), rows[start : start + 1000])
    return [r["id"] for r in rows]


def median_seconds(runs: int, step: Callable[[int], object]) -> float:
    """The median wall time of `step(run)` over `runs` runs."""
    times = []
    for run in range(runs):
        started = time.perf_counter()
        step(run)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _admin(url: str, statement: str) -> None:
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(statement))
    admin.dispose()


@contextmanager
def database(backend: str, directory: Path, postgres: str | None) -> Iterator[Engine]:
    """A fresh database with the schema: a SQLite file, or a new schema on the PostgreSQL server."""
    schema = None
    url = f"sqlite:///{(directory / f'plan-{uuid.uuid4().hex[:8]}.sqlite3').as_posix()}"
    if backend == "postgres":
        assert postgres is not None
        schema = f"bench_plan_{uuid.uuid4().hex[:10]}"
        _admin(postgres, f'CREATE SCHEMA "{schema}"')
        options = {"options": f"-csearch_path={schema}"}
        url = make_url(postgres).update_query_dict(options).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()
        if schema is not None and postgres is not None:
            _admin(postgres, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def measure(engine: Engine, count: int, args: argparse.Namespace) -> dict[str, float]:
    """Start-up, one data change, one subscription and the inputs read, at `count` subscriptions."""
    base, moved, edited = calendars(args.events)
    ids = add_subscriptions(engine, count, args.affected, edited)
    clock = SettableClock(NOW)
    client = WebhookClient(AddressPolicy(allow_private=True), 5.0, clock=clock)
    service = ReminderService(Settings(), engine, base, clock, client)
    try:
        started = time.perf_counter()
        service.start(schedule=False)
        startup = time.perf_counter() - started
        versions = (base, moved)

        def data_change(run: int) -> None:
            service.on_calendar_change(versions[run % 2], versions[(run + 1) % 2])

        def one_subscription(run: int) -> None:
            sub_id = ids[-1]  # an unaffected one: its share of the data, whatever the others are
            with engine.begin() as conn:
                changed = {"lead_times": LEADS[(run + 1) % 2], "updated_at": clock.now()}
                conn.execute(
                    update(subs_db.subscriptions).where(subs_db.subscriptions.c.id == sub_id).values(changed)
                )
            service.reconcile_subscriptions([sub_id])

        change = median_seconds(args.runs, data_change)
        one = median_seconds(args.runs, one_subscription)
        inputs = median_seconds(args.runs, lambda _: subs_db.planning_inputs(engine))
        rows = sum(ledger.count_by_state(engine).values())
    finally:
        service.shutdown()
        client.close()
    return {"startup": startup, "change": change, "one": one, "inputs": inputs, "rows": rows}


def main() -> None:
    """Run the benchmark and print a table of medians."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", default="100,1000,10000", help="comma-separated counts")
    parser.add_argument("--events", type=int, default=150, help="events in the calendar (default 150)")
    parser.add_argument(
        "--affected", type=int, default=20, help="subscriptions the edit concerns (default 20)"
    )
    parser.add_argument("--runs", type=int, default=7, help="runs per figure; the median is printed")
    parser.add_argument(
        "--postgres", help="also run on this PostgreSQL server (a schema is made and dropped)"
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.subscriptions.split(",")]
    backends = ["sqlite"] + (["postgres"] if args.postgres else [])
    print(f"{args.events} events, {args.affected} affected subscriptions, median of {args.runs} runs")
    heads = ("backend", "subs", "start-up", "data change", "one sub", "inputs read", "rows")
    print("{:9} {:>7} {:>10} {:>12} {:>9} {:>12} {:>9}".format(*heads))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for count in counts:
                with database(backend, Path(tmp), args.postgres) as engine:
                    got = measure(engine, count, args)
                results.append({"backend": backend, "subscriptions": count, **got})
                print(
                    f"{backend:9} {count:>7,} {got['startup']:>9.2f}s {got['change'] * 1000:>10.1f}ms "
                    f"{got['one'] * 1000:>7.1f}ms {got['inputs'] * 1000:>10.1f}ms {int(got['rows']):>9,}",
                    flush=True,
                )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
