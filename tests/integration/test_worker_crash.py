"""A worker process killed with SIGKILL in the middle of a burst loses nothing and duplicates little.

The real `trade-calendar worker` runs in a child process against a SQLite file or PostgreSQL, sending to
a real loopback receiver. Delivery is at-least-once: a reminder whose request was in flight when the
process died is claimed again once its lease runs out and sent again with the same `webhook-id`. So the
test asserts every planned id arrives at least once and nothing else arrives, and reports how many
requests were true duplicates.

Nothing here depends on timing luck. The receiver holds every request after the first `KILL_AFTER` until
the kill, so the burst is always mid-way when the worker dies, and the requests in flight at the kill
are exactly those the ledger had not recorded as delivered; duplicates must come from those alone. Due
times lie a few minutes back at most, so the plan holds wherever the next minute boundary falls.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SystemClock
from calendar_service.adapters.db import ledger
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.planning import plan_reminders, reminder_id
from calendar_service.worker.tuning import Tuning
from tests.support.figures import report_figures
from tests.support.polling import wait_until as _wait
from tests.support.receiver import Receiver, Recorded, Reply
from tests.support.reminders import add_subscription, event, make_calendar, write_calendar

EVENTS = 10
SUBSCRIPTIONS = 30
CONCURRENCY = 4
# A claim's lease: how long the second worker waits to resend what the first had claimed. Far longer than
# the second worker needs to send a batch, so it never reclaims its own rows while still sending them.
LEASE = 5
KILL_AFTER = 60  # requests answered before the receiver starts holding them until the kill
# Event times are whole minutes (the data format's resolution), so due times are spread over the last
# SPREAD minutes before "now" floored to the minute: at most SPREAD + 1 minutes old when planned.
SPREAD = 3


def _start_worker(tmp_path: Path, database_url: str, data: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TRADE_CALENDAR_DATABASE_URL": database_url,
        "TRADE_CALENDAR_DATA_PATH": str(data),
        "TRADE_CALENDAR_STATE_DIR": str(tmp_path / "state"),
        "TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS": "true",
        # Longer than a request is ever held, so no held request turns into a retry planned for later.
        "TRADE_CALENDAR_WEBHOOK_TIMEOUT": "20",
        "TRADE_CALENDAR_LOG_LEVEL": "WARNING",
    }
    code = "from calendar_service.cli.worker import worker; worker()"
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", code, "--concurrency", str(CONCURRENCY), "--lease", str(LEASE)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_mid_burst_then_restart_delivers_everything(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    record_property: pytest.RecordProperty,
    pytestconfig: pytest.Config,
) -> None:
    clock = SystemClock()
    # Deadlines a day ahead, lead time P1D: every reminder fell due within the last few minutes, so
    # the worker sends them all at once on start (the burst).
    base = clock.now().replace(second=0, microsecond=0) + dt.timedelta(days=1)
    deadlines = [base - dt.timedelta(minutes=i % SPREAD) for i in range(EVENTS)]
    data = write_calendar(tmp_path / "events.yaml", *[event(f"e{i}", d) for i, d in enumerate(deadlines)])
    released = threading.Event()

    def hold_after_kill_point(recorded: Recorded) -> Reply:
        if len(rx.requests) > KILL_AFTER:
            released.wait(timeout=60)  # until the worker is dead; then the reply goes nowhere
        return Reply(200)

    with Receiver() as rx:
        rx.respond_with(hold_after_kill_point)
        subs = [
            add_subscription(engine, f"{rx.url}/s{n}", clock, lead_times=("P1D",), sub_id=f"sub-{n:02d}")
            for n in range(SUBSCRIPTIONS)
        ]
        one_day = LeadTime.parse("P1D")
        expected = {reminder_id(s.id, f"e{i}", d, one_day) for s in subs for i, d in enumerate(deadlines)}
        assert len(expected) == EVENTS * SUBSCRIPTIONS
        # Planned minutes from now (a slow machine, the next minute boundary long past), all are still owed.
        margin = Tuning().plan_late_window - dt.timedelta(minutes=SPREAD + 1)
        late_plan = plan_reminders(
            make_calendar(*[event(f"e{i}", d) for i, d in enumerate(deadlines)]),
            subs,
            clock.now() + margin,
            late_window=Tuning().plan_late_window,
        )
        assert {r.id for r in late_plan} == expected

        first = _start_worker(tmp_path, database_url, data, "first")
        try:
            # Every send thread is now held at the receiver: the burst is mid-way, whatever the load.
            _wait(
                lambda: len(rx.requests) >= KILL_AFTER + CONCURRENCY or first.poll() is not None,
                60,
                "the burst to reach the kill point",
            )
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
            released.set()
        sent_before_kill = {r.headers["webhook-id"] for r in rx.requests}
        at_kill = len(rx.requests)
        in_flight = sent_before_kill - {row["id"] for row in ledger.list_rows(engine, state="delivered")}
        assert len(sent_before_kill) < len(expected)

        second = _start_worker(tmp_path, database_url, data, "second")
        try:
            _wait(lambda: {r.headers["webhook-id"] for r in rx.requests} >= expected, 60, "every reminder")
        finally:
            # SIGTERM lets sends in flight finish and be recorded; nothing is sent after the exit.
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(timeout=15)
            except subprocess.TimeoutExpired:
                second.kill()
    counts = Counter(r.headers["webhook-id"] for r in rx.requests)
    assert set(counts) == expected  # nothing lost, nothing unplanned
    repeated = {rid for rid, n in counts.items() if n > 1}
    duplicates = sum(counts.values()) - len(counts)
    record_property("requests_before_kill", at_kill)
    record_property("in_flight_at_kill", len(in_flight))
    record_property("duplicate_requests", duplicates)
    report_figures(
        pytestconfig,
        f"worker SIGKILL ({database_url.partition(':')[0]}): after {at_kill} requests, {len(in_flight)} "
        f"unrecorded; {duplicates} duplicate request(s) of {len(counts)} reminders",
    )
    # Only an attempt in flight at the kill (sent, outcome not recorded) may repeat, and only once.
    assert repeated <= in_flight
    assert duplicates <= len(in_flight)
    assert second.returncode == 0, (tmp_path / "second.log").read_text()
    states = ledger.count_by_state(engine)
    assert states == {"delivered": len(expected)}
