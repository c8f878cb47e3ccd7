"""On time under a burst: rows claimed ahead wait for their instant, a data edit meanwhile is honoured,
a burst goes over a few kept-alive connections, and two workers sharing it send nothing twice.
Real loopback receivers; a settable clock decides when "due" is."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.worker import delivery
from calendar_service.worker.service import ReminderService, RunStats, Tuning
from tests.support.polling import wait_until
from tests.support.receiver import Receiver, Recorded, Reply
from tests.support.reminders import OffsetClock, add_subscription, event, make_calendar, make_service

NY = ZoneInfo("America/New_York")
DEADLINE = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)  # the US 00:01 burst
START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DUE = DEADLINE - HOUR  # the instant of every PT1H reminder here
AHEAD = dt.timedelta(seconds=5)


def data(request: Recorded) -> dict:
    return json.loads(request.body)["data"]  # type: ignore[no-any-return]


def run_in_background(service: ReminderService, now: dt.datetime) -> tuple[threading.Thread, list[RunStats]]:
    """`run_due(now, ahead=AHEAD)` on a thread, as the alarm calls it a few seconds before a burst."""
    out: list[RunStats] = []
    thread = threading.Thread(target=lambda: out.append(service.run_due(now, ahead=AHEAD)), daemon=True)
    thread.start()
    return thread, out


class HoldTheFirst:
    """A receiver's responder that holds the first request until `release` is set: a slow receiver."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self._count = itertools.count(1)

    def __call__(self, request: Recorded) -> Reply:
        if next(self._count) == 1:
            self.release.wait(30)
        return Reply(200)


def claimed(engine: Engine) -> int:
    return sum(1 for r in ledger.list_rows(engine, state="pending") if r["claimed_until"] is not None)


def test_claimed_ahead_the_burst_goes_out_at_its_instant_never_before(engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver() as rx:
        add_subscription(engine, rx.url, clock, sub_id="sub-a")
        service = make_service(engine, make_calendar(*[event(f"e{i}", DEADLINE) for i in range(5)]), clock)
        service.start(schedule=False)
        try:
            clock.set(DUE - dt.timedelta(seconds=3))
            thread, stats = run_in_background(service, clock.now())
            wait_until(lambda: claimed(engine) == 5, what="the five rows claimed ahead")
            time.sleep(0.3)  # they are claimed and signed; nothing may leave before the instant
            assert rx.requests == []
            clock.set(DUE)
            requests = rx.wait_for(5)
            thread.join(timeout=30)
        finally:
            service.shutdown()
    assert stats[0].delivered == 5
    # Signed ahead for the instant they go out, not for when they were prepared.
    assert {r.headers["webhook-timestamp"] for r in requests} == {str(int(DUE.timestamp()))}
    assert {json.loads(r.body)["timestamp"] for r in requests} == {"2026-07-09T03:01:00Z"}
    assert sorted(data(r)["event_id"] for r in requests) == [f"e{i}" for i in range(5)]
    rows = ledger.list_rows(engine)
    assert {r["state"] for r in rows} == {"delivered"}
    assert all(r["first_attempt_at"] >= DUE for r in rows)


def test_a_deadline_moved_while_its_reminder_waited_is_not_sent(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    old = make_calendar(event("moves", DEADLINE), event("stays", DEADLINE))
    new = make_calendar(event("moves", DEADLINE + dt.timedelta(days=7)), event("stays", DEADLINE))
    with Receiver() as rx:
        add_subscription(sqlite_engine, rx.url, clock, sub_id="sub-m")
        service = make_service(sqlite_engine, old, clock)
        service.start(schedule=False)
        try:
            clock.set(DUE - dt.timedelta(seconds=3))
            thread, _ = run_in_background(service, clock.now())
            wait_until(lambda: claimed(sqlite_engine) == 2, what="both rows claimed ahead")
            service.on_calendar_change(old, new)  # the edit lands while both wait for 03:01
            clock.set(DUE)
            thread.join(timeout=30)
            assert not thread.is_alive()
            reminders = [r for r in rx.requests if json.loads(r.body)["type"] == "reminder.due"]
        finally:
            service.shutdown()
    assert [data(r)["event_id"] for r in reminders] == ["stays"]
    old_row = next(
        r
        for r in ledger.list_rows(sqlite_engine)
        if r["event_id"] == "moves" and r["deadline_at"] == DEADLINE
    )
    assert old_row["state"] == "cancelled"


def test_a_burst_goes_over_a_few_kept_alive_connections(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver() as rx:
        for n in range(60):
            add_subscription(sqlite_engine, f"{rx.url}/s{n}", clock, sub_id=f"sub-{n:02d}")
        events = [event(f"e{i}", DEADLINE) for i in range(5)]
        service = make_service(sqlite_engine, make_calendar(*events), clock, tuning=Tuning(concurrency=6))
        service.start(schedule=False)
        try:
            clock.set(DUE)
            stats = service.run_due(clock.now())
            requests = rx.wait_for(300)
        finally:
            service.shutdown()
    assert stats.delivered == 300
    ids = Counter(r.headers["webhook-id"] for r in requests)
    assert len(ids) == 300
    assert set(ids.values()) == {1}
    # At most `concurrency` connections, each reused for many requests (HTTP/1.1 keep-alive).
    connections = Counter(r.peer for r in requests)
    assert 1 <= len(connections) <= 6
    assert max(connections.values()) >= 300 // 6


def test_two_workers_claiming_ahead_share_a_burst_and_send_nothing_twice(engine: Engine) -> None:
    clock = SettableClock(START)
    events = [event(f"e{i}", DEADLINE) for i in range(5)]
    with Receiver() as rx:
        for n in range(20):
            add_subscription(engine, f"{rx.url}/s{n}", clock, digest=n % 2 == 0, sub_id=f"sub-{n:02d}")
        # Small claims, so the two workers' batches interleave.
        services = [
            make_service(engine, make_calendar(*events), clock, tuning=Tuning(concurrency=4, batch=7))
            for _ in range(2)
        ]
        for service in services:
            service.start(schedule=False)
        try:
            clock.set(DUE - dt.timedelta(seconds=2))
            barrier = threading.Barrier(2)
            outs: list[RunStats] = []

            def run(service: ReminderService) -> None:
                barrier.wait()
                outs.append(service.run_due(clock.now(), ahead=AHEAD))

            threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in services]
            for t in threads:
                t.start()
            wait_until(lambda: claimed(engine) == 100, what="the whole burst claimed ahead")
            assert rx.requests == []
            clock.set(DUE)
            for t in threads:
                t.join(timeout=60)
        finally:
            for service in services:
                service.shutdown()
    # Ten digest subscribers get one message with five items; ten others get five messages each.
    paths = Counter(r.path for r in rx.requests)
    assert paths == Counter({f"/s{n}": 1 if n % 2 == 0 else 5 for n in range(20)})
    assert len({r.headers["webhook-id"] for r in rx.requests}) == len(rx.requests) == 60
    assert ledger.count_by_state(engine) == {"delivered": 100}
    assert sum(s.delivered for s in outs) == 100


def test_a_queue_longer_than_the_lease_is_renewed_not_claimed_again(sqlite_engine: Engine) -> None:
    """One slow receiver holds the only sender past the lease; the rows queued behind it stay ours."""
    clock = SettableClock(START)
    slow = HoldTheFirst()
    release = slow.release
    lease = dt.timedelta(seconds=30)

    with Receiver() as rx:
        rx.respond_with(slow)
        add_subscription(sqlite_engine, rx.url, clock, sub_id="sub-slow")
        calendar = make_calendar(*[event(f"e{i}", DEADLINE) for i in range(3)])
        tuning = Tuning(concurrency=1, lease=lease)
        # A client timeout longer than the test can take: the held send must not turn into a retry.
        first, second = (
            make_service(sqlite_engine, calendar, clock, tuning=tuning, timeout=60) for _ in range(2)
        )
        for service in (first, second):
            service.start(schedule=False)
        try:
            clock.set(DUE)
            thread, stats = run_in_background(first, clock.now())
            wait_until(lambda: len(rx.requests) == 1, what="the first send, held by the receiver")
            clock.set(DUE + lease * 2 / 3)  # the worker renews its claims past a third of the lease
            wait_until(
                lambda: all(r["claimed_until"] > DUE + lease for r in ledger.list_rows(sqlite_engine)),
                what="the claims renewed",
            )
            clock.set(DUE + lease * 4 / 3)  # past the first lease: only a renewal keeps the rows
            assert second.run_due(clock.now()).claimed == 0
            release.set()
            thread.join(timeout=30)
        finally:
            release.set()
            for service in (first, second):
                service.shutdown()
    assert stats[0].delivered == 3
    assert Counter(r.headers["webhook-id"] for r in rx.requests) == Counter(
        {r["id"]: 1 for r in ledger.list_rows(sqlite_engine)}
    )


def test_with_the_real_alarm_nothing_arrives_before_its_instant(sqlite_engine: Engine) -> None:
    """APScheduler rings ahead of the burst (the real alarm, real seconds); every message arrives at or
    after its due instant, signed for it."""
    clock = OffsetClock.starting_at(DUE - dt.timedelta(seconds=3))
    arrivals: list[dt.datetime] = []

    def note_the_time(request: Recorded) -> Reply:
        arrivals.append(clock.now())
        return Reply(200)

    with Receiver() as rx:
        rx.respond_with(note_the_time)
        for n in range(20):
            add_subscription(sqlite_engine, f"{rx.url}/s{n}", clock, sub_id=f"sub-{n:02d}")
        events = [event(f"e{i}", DEADLINE) for i in range(3)]
        service = make_service(sqlite_engine, make_calendar(*events), clock, tuning=Tuning(concurrency=8))
        service.start()
        try:
            requests = rx.wait_for(60, timeout=30)
        finally:
            service.shutdown()
    assert len(arrivals) == 60
    assert min(arrivals) >= DUE
    assert {r.headers["webhook-timestamp"] for r in requests} == {str(int(DUE.timestamp()))}
    assert ledger.count_by_state(sqlite_engine) == {"delivered": 60}


def test_a_message_queued_behind_a_slow_receiver_is_checked_again_before_it_goes(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked when its chunk was handed to the senders, then held there longer than RECHECK_AFTER by a
    slow send: a message whose subscription was deleted meanwhile does not go out."""
    monkeypatch.setattr(delivery, "RECHECK_AFTER", dt.timedelta(seconds=0.1))
    clock = SettableClock(START)
    slow = HoldTheFirst()
    release = slow.release

    with Receiver() as rx:
        rx.respond_with(slow)
        for name in ("a", "b"):
            add_subscription(sqlite_engine, f"{rx.url}/{name}", clock, sub_id=f"sub-{name}")
        service = make_service(
            sqlite_engine,
            make_calendar(event("e0", DEADLINE)),
            clock,
            tuning=Tuning(concurrency=1),
            timeout=60,
        )
        service.start(schedule=False)
        try:
            clock.set(DUE)
            thread, stats = run_in_background(service, clock.now())
            wait_until(lambda: len(rx.requests) == 1, what="the first send, held by the receiver")
            other = "sub-b" if rx.requests[0].path == "/a" else "sub-a"
            subs_db.delete_subscription(sqlite_engine, other, now=clock.now())
            time.sleep(0.3)  # the queued message is now older than its check
            release.set()
            thread.join(timeout=30)
        finally:
            release.set()
            service.shutdown()
    assert len(rx.requests) == 1
    states = {r["subscription_id"]: r["state"] for r in ledger.list_rows(sqlite_engine)}
    assert states[other] == "cancelled"
    assert stats[0].delivered == 1


def test_shutdown_without_waiting_drops_what_is_queued_and_leaves_it_claimed(sqlite_engine: Engine) -> None:
    """shutdown(wait=False) during a burst: the send in flight is abandoned, nothing queued goes out, and
    every row stays claimed (to go out again, same webhook-id, once the lease ends)."""
    clock = SettableClock(START)
    slow = HoldTheFirst()
    with Receiver() as rx:
        rx.respond_with(slow)
        add_subscription(sqlite_engine, rx.url, clock, sub_id="sub-slow")
        calendar = make_calendar(*[event(f"e{i}", DEADLINE) for i in range(3)])
        service = make_service(sqlite_engine, calendar, clock, tuning=Tuning(concurrency=1), timeout=60)
        service.start(schedule=False)
        try:
            clock.set(DUE)
            thread, stats = run_in_background(service, clock.now())
            wait_until(lambda: len(rx.requests) == 1, what="the first send, held by the receiver")
            started = time.monotonic()
            service.shutdown(wait=False)
            thread.join(timeout=10)
            assert time.monotonic() - started < 5  # not the receiver's 30 s hold
        finally:
            slow.release.set()
    assert not thread.is_alive()
    assert stats[0].delivered == 0
    assert len(rx.requests) == 1
    assert claimed(sqlite_engine) == 3
