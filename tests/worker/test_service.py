"""The reminder engine end to end: real loopback receivers, a settable clock, a real database.

Each test drives `run_due(clock.now())` the way the scheduler's wake-up does; `test_wakes_at_due_time`
lets the real APScheduler alarm fire.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook

from calendar_service.adapters.clock import SettableClock, SystemClock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.core.reminders.audience import Audience, Subscriber, audience
from calendar_service.worker import delivery
from calendar_service.worker.service import Tuning
from tests.support.polling import wait_until
from tests.support.receiver import Receiver, Recorded, Reply
from tests.support.reminders import add_subscription, event, make_calendar, make_service, run_together

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
DEADLINE = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)  # 04:01Z
START = dt.datetime(2026, 6, 1, tzinfo=UTC)


def body(request: Recorded) -> dict:
    return json.loads(request.body)


def ids(receiver: Receiver) -> Counter[str]:
    return Counter(r.headers["webhook-id"] for r in receiver.requests)


# --- firing ---------------------------------------------------------------------------------------


def test_reminders_fire_at_their_due_times_and_are_signed(engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver() as rx:
        sub = add_subscription(engine, rx.url + "/hook", clock, lead_times=("P7D", "P1D", "PT1H"))
        service = make_service(engine, make_calendar(event("truce-end", DEADLINE)), clock)
        service.start(schedule=False)
        try:
            assert ledger.next_wake(engine) == DEADLINE - dt.timedelta(days=7)
            for lead in (dt.timedelta(days=7), dt.timedelta(days=1), dt.timedelta(hours=1)):
                clock.set(DEADLINE - lead - dt.timedelta(seconds=1))
                assert service.run_due(clock.now()).claimed == 0  # a second early: nothing
                clock.set(DEADLINE - lead)
                stats = service.run_due(clock.now())
                assert (stats.delivered, stats.lateness) == (1, [0.0])
            requests = rx.wait_for(3)
        finally:
            service.shutdown()
    assert [body(r)["data"]["lead_time"] for r in requests] == ["P7D", "P1D", "PT1H"]
    assert all(body(r)["type"] == "reminder.due" for r in requests)
    assert body(requests[2])["data"]["deadline"]["utc"] == "2026-07-09T04:01:00Z"
    for r in requests:
        # The library's verify() also checks the timestamp against the real clock (the test's is in
        # 2026), so check the signature the way it does, with the same library.
        sent_at = dt.datetime.fromtimestamp(int(r.headers["webhook-timestamp"]), UTC)
        expected = Webhook(sub.secret).sign(r.headers["webhook-id"], sent_at, r.body.decode())
        assert r.headers["webhook-signature"] == expected
    assert ledger.count_by_state(engine) == {"delivered": 3}
    log = ledger.list_attempts(engine, sub.id, 10)
    assert [(a.status, a.outcome, a.attempt) for a in log] == [(200, "delivered", 1)] * 3


def test_dst_morning_reminder_fires_exactly_an_hour_before(sqlite_engine: Engine) -> None:
    for deadline in (dt.datetime(2026, 3, 8, 0, 1, tzinfo=NY), dt.datetime(2026, 11, 1, 0, 1, tzinfo=NY)):
        clock = SettableClock(deadline - dt.timedelta(days=2))
        with Receiver() as rx:
            add_subscription(sqlite_engine, rx.url, clock, lead_times=("PT1H",), sub_id=f"s-{deadline.month}")
            service = make_service(sqlite_engine, make_calendar(event(f"d{deadline.month}", deadline)), clock)
            service.start(schedule=False)
            try:
                clock.set(deadline - dt.timedelta(seconds=3601))
                assert service.run_due(clock.now()).claimed == 0
                clock.set(deadline - dt.timedelta(seconds=3600))
                assert service.run_due(clock.now()).delivered == 1
                (request,) = rx.wait_for(1)
            finally:
                service.shutdown()
        sent = int(request.headers["webhook-timestamp"])
        assert deadline.timestamp() - sent == 3600


def test_wakes_at_due_time_with_the_real_scheduler(sqlite_engine: Engine) -> None:
    """APScheduler's alarm fires a reminder due 0.6 s from now when due, not at the next routine wake."""

    class OffsetClock:
        def __init__(self, offset: dt.timedelta) -> None:
            self.offset = offset

        def now(self) -> dt.datetime:
            return SystemClock().now() + self.offset

    due = DEADLINE - dt.timedelta(hours=1)
    # Measured from the moment the offset is taken: setting up on a busy machine only eats into the wait.
    started = time.monotonic()
    clock = OffsetClock(due - dt.timedelta(seconds=0.6) - SystemClock().now())
    with Receiver() as rx:
        add_subscription(sqlite_engine, rx.url, clock, lead_times=("PT1H",))
        service = make_service(sqlite_engine, make_calendar(event("soon", DEADLINE)), clock)
        service.start()
        try:
            (request,) = rx.wait_for(1, timeout=15)
        finally:
            service.shutdown()
    fired_after = request.at - started
    # Not before it is due; and at the due time, not at the next routine wake-up (`max_sleep`, 30 s).
    assert 0.55 <= fired_after < 10, fired_after
    assert ledger.count_by_state(sqlite_engine) == {"delivered": 1}


def test_a_ring_skipped_while_a_wake_up_runs_leaves_the_alarm_set(sqlite_engine: Engine) -> None:
    """A wake-up that re-arms for "now" can be rung before it returns; APScheduler skips that ring and
    drops the job. The alarm must still be set afterwards, or nothing would wake the worker again."""
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES

    from calendar_service.worker.service import WAKE_JOB

    service = make_service(sqlite_engine, make_calendar(event("later", DEADLINE)), SystemClock())
    service.start()
    scheduler = service._scheduler
    assert scheduler is not None
    skipped = threading.Event()
    scheduler.add_listener(lambda _: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    finish = service._wake_succeeded
    held = []

    def arm_for_now_then_return_late() -> None:
        if not held:  # the first wake-up only: the ring it arms comes while it still runs
            held.append(True)
            service._arm_in(0)
            assert skipped.wait(timeout=15), "APScheduler did not skip the ring"
        finish()

    service._wake_succeeded = arm_for_now_then_return_late  # type: ignore[method-assign]
    try:
        service._arm_in(0)
        wait_until(lambda: bool(held) and skipped.is_set(), timeout=20, what="the skipped ring")
        wait_until(lambda: scheduler.get_job(WAKE_JOB) is not None, timeout=10, what="an alarm set again")
    finally:
        service.shutdown()


# --- sent once ------------------------------------------------------------------------------------


def test_restart_and_reload_never_send_twice(engine: Engine) -> None:
    clock = SettableClock(START)
    calendar = make_calendar(event("a", DEADLINE), event("b", DEADLINE + dt.timedelta(days=3)))
    with Receiver() as rx:
        add_subscription(engine, rx.url, clock, lead_times=("P7D", "P1D"))
        first = make_service(engine, calendar, clock)
        first.start(schedule=False)
        clock.set(DEADLINE - dt.timedelta(days=1))
        first.run_due(clock.now())
        first.shutdown()
        # Restart: a new service on the same database plans the same data again.
        second = make_service(engine, calendar, clock)
        second.start(schedule=False)
        assert second.run_due(clock.now()).claimed == 0
        # Reload with the same content (a fresh parse of the same file).
        second.on_calendar_change(
            calendar, make_calendar(event("a", DEADLINE), event("b", DEADLINE + dt.timedelta(days=3)))
        )
        assert second.run_due(clock.now()).claimed == 0
        clock.set(DEADLINE + dt.timedelta(days=3) - dt.timedelta(days=1))
        second.run_due(clock.now())
        second.shutdown()
    counts = ids(rx)
    assert len(counts) == 4
    assert set(counts.values()) == {1}
    assert ledger.count_by_state(engine) == {"delivered": 4}


def test_two_services_on_one_database_send_each_reminder_once(engine: Engine) -> None:
    clock = SettableClock(START)
    events = [event(f"e{i:02d}", DEADLINE + dt.timedelta(minutes=i)) for i in range(20)]
    with Receiver() as rx:
        for n in range(3):
            add_subscription(engine, f"{rx.url}/s{n}", clock, lead_times=("P1D",), sub_id=f"sub-{n}")
        services = [make_service(engine, make_calendar(*events), clock) for _ in range(2)]
        for service in services:
            service.start(schedule=False)  # both plan: the second adds nothing
        assert ledger.count_by_state(engine) == {"pending": 60}
        clock.set(DEADLINE + dt.timedelta(minutes=30) - dt.timedelta(days=1))
        run_together(services, clock.now())
    counts = ids(rx)
    assert len(counts) == 60
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    assert ledger.count_by_state(engine) == {"delivered": 60}


# --- retries and failures -------------------------------------------------------------------------


def _one_due(engine: Engine, url: str, clock: SettableClock, **kw: object):  # type: ignore[no-untyped-def]
    sub = add_subscription(engine, url, clock, lead_times=("PT1H",))
    service = make_service(engine, make_calendar(event("x", DEADLINE)), clock, **kw)  # type: ignore[arg-type]
    service.start(schedule=False)
    clock.set(DEADLINE - dt.timedelta(hours=1))
    return sub, service


def test_receiver_down_then_up_is_retried_with_the_same_id(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    rx = Receiver(start=False)
    sub, service = _one_due(sqlite_engine, rx.url, clock)
    try:
        assert service.run_due(clock.now()).retrying == 1
        (row,) = ledger.list_rows(sqlite_engine)
        assert (row["state"], row["next_attempt_at"]) == ("pending", clock.now() + dt.timedelta(seconds=10))
        assert ledger.next_wake(sqlite_engine) == row["next_attempt_at"]
        rx.start()
        clock.advance(dt.timedelta(seconds=9))
        assert service.run_due(clock.now()).claimed == 0  # not before the backoff
        clock.advance(dt.timedelta(seconds=1))
        assert service.run_due(clock.now()).delivered == 1
        (request,) = rx.wait_for(1)
    finally:
        service.shutdown()
        rx.stop()
    assert request.headers["webhook-id"] == row["id"]
    log = ledger.list_attempts(sqlite_engine, sub.id, 10)
    assert [(a.attempt, a.outcome, a.status) for a in reversed(log)] == [
        (1, "retry", None),
        (2, "delivered", 200),
    ]
    assert "connection" in log[1].error
    assert all(a.latency_ms is not None and a.at is not None for a in log)


def test_500_then_200(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver() as rx:
        rx.script(Reply(500))
        sub, service = _one_due(sqlite_engine, rx.url, clock)
        try:
            assert service.run_due(clock.now()).retrying == 1
            clock.advance(dt.timedelta(seconds=10))
            assert service.run_due(clock.now()).delivered == 1
            first, second = rx.wait_for(2)
        finally:
            service.shutdown()
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert [a.status for a in reversed(ledger.list_attempts(sqlite_engine, sub.id, 10))] == [500, 200]


def test_slow_past_the_timeout_is_retried(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver() as rx:
        rx.script(Reply(200, delay=5))
        sub, service = _one_due(sqlite_engine, rx.url, clock, timeout=0.5)
        try:
            started = time.monotonic()
            assert service.run_due(clock.now()).retrying == 1
            assert time.monotonic() - started < 2.5
            clock.advance(dt.timedelta(seconds=10))
            assert service.run_due(clock.now()).delivered == 1
        finally:
            service.shutdown()
    log = list(reversed(ledger.list_attempts(sqlite_engine, sub.id, 10)))
    assert [a.outcome for a in log] == ["retry", "delivered"]
    assert "timed out" in log[0].error


def test_410_and_400_are_not_retried_and_persistent_failure_disables(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    events = [event(f"e{i}", DEADLINE + dt.timedelta(hours=i)) for i in range(3)]
    with Receiver() as rx:
        rx.script(Reply(410), Reply(400))
        sub = add_subscription(sqlite_engine, rx.url, clock, lead_times=("PT1H",))
        service = make_service(
            sqlite_engine, make_calendar(*events), clock, tuning=Tuning(concurrency=2, disable_after=2)
        )
        service.start(schedule=False)
        try:
            for i in range(2):
                clock.set(DEADLINE + dt.timedelta(hours=i - 1))
                assert service.run_due(clock.now()).failed == 1
            assert len(rx.requests) == 2  # no retry of either
            disabled = subs_db.get_subscription(sqlite_engine, sub.id)
            assert not disabled.enabled
            assert "2 failed deliveries in a row" in (disabled.disabled_reason or "")
            assert "410" in (disabled.disabled_reason or "") or "400" in (disabled.disabled_reason or "")
            clock.set(DEADLINE + dt.timedelta(hours=1))
            assert service.run_due(clock.now()).cancelled == 1  # nothing sent to a disabled endpoint
            assert len(rx.requests) == 2
            # The owner fixes the endpoint and re-enables it: the reminder still owed goes out.
            subs_db.enable_subscription(sqlite_engine, sub.id, now=clock.now())
            service.plan()
            assert service.run_due(clock.now()).delivered == 1
        finally:
            service.shutdown()
    log = list(reversed(ledger.list_attempts(sqlite_engine, sub.id, 10)))
    expected = [(410, "failed"), (400, "failed"), (200, "delivered")]
    assert [(a.status, a.outcome) for a in log] == expected
    assert subs_db.get_subscription(sqlite_engine, sub.id).failure_count == 0


def test_retries_stop_once_the_deadline_has_passed(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    with Receiver(default=Reply(503)) as rx:
        sub = add_subscription(sqlite_engine, rx.url, clock, lead_times=("PT1M",))
        service = make_service(sqlite_engine, make_calendar(event("x", DEADLINE)), clock)
        service.start(schedule=False)
        try:
            clock.set(DEADLINE - dt.timedelta(minutes=1))
            for _ in range(5):
                service.run_due(clock.now())
                clock.advance(dt.timedelta(seconds=20))
        finally:
            service.shutdown()
    (row,) = ledger.list_rows(sqlite_engine)
    assert row["state"] == "failed"
    assert "deadline comes first" in row["last_error"]
    assert len(rx.requests) == row["attempts"] == len(ledger.list_attempts(sqlite_engine, sub.id, 10))


# --- data changes ---------------------------------------------------------------------------------


def test_moved_deadline_replans_and_notifies(engine: Engine) -> None:
    clock = SettableClock(START)
    later = dt.datetime(2026, 8, 1, 0, 1, tzinfo=NY)
    old = make_calendar(event("truce", DEADLINE, countries=["US", "CN"]), event("other", DEADLINE))
    new = make_calendar(event("truce", later, countries=["US", "CN"]), event("other", DEADLINE))
    with Receiver() as rx:
        cn = add_subscription(
            engine, rx.url + "/cn", clock, lead_times=("P1D", "PT1H"), filter={"country": ["CN"]}
        )
        add_subscription(engine, rx.url + "/other", clock, lead_times=("P1D",), filter={"country": ["NO"]})
        service = make_service(engine, old, clock)
        service.start(schedule=False)
        before = {r["id"] for r in ledger.list_rows(engine, subscription_id=cn.id)}
        service.on_calendar_change(old, new)
        stats = service.run_due(clock.now())
        assert stats.delivered == 1
        (notice,) = rx.wait_for(1)
        clock.set(later - dt.timedelta(days=1))
        service.run_due(clock.now())
        service.shutdown()
    rows = {r["id"]: r for r in ledger.list_rows(engine, subscription_id=cn.id)}
    assert {rows[i]["state"] for i in before} == {"cancelled"}
    planned = [r for r in rows.values() if r["kind"] == "reminder.due" and r["state"] != "cancelled"]
    assert {r["deadline_at"] for r in planned} == {later}
    assert notice.path == "/cn"
    data = body(notice)
    assert body(notice)["type"] == "event.rescheduled"
    assert (data["data"]["old"]["utc"], data["data"]["new"]["utc"]) == (
        "2026-07-09T04:01:00Z",
        "2026-08-01T04:01:00Z",
    )
    assert [body(r)["data"]["lead_time"] for r in rx.requests[1:]] == ["P1D"]


def test_cancelled_superseded_and_new_events_notify(sqlite_engine: Engine) -> None:
    clock = SettableClock(START)
    old = make_calendar(event("a", DEADLINE), event("b", DEADLINE))
    new = make_calendar(
        event("a", DEADLINE, status="cancelled"),
        event("b", DEADLINE, status="superseded", superseded_by="c"),
        event("c", DEADLINE + dt.timedelta(days=2)),
    )
    with Receiver() as rx:
        add_subscription(sqlite_engine, rx.url, clock, lead_times=("P1D",))
        service = make_service(sqlite_engine, old, clock)
        service.start(schedule=False)
        service.on_calendar_change(old, new)
        assert service.run_due(clock.now()).delivered == 3
        service.on_calendar_change(old, new)  # the same change again (another process, a re-read)
        assert service.run_due(clock.now()).claimed == 0
        clock.set(DEADLINE - dt.timedelta(days=1))
        assert service.run_due(clock.now()).claimed == 0  # a and b: no more reminders
        clock.set(DEADLINE + dt.timedelta(days=1))
        assert service.run_due(clock.now()).delivered == 1  # c's reminder
        service.shutdown()
    kinds = {(body(r)["type"], body(r)["data"]["event_id"]) for r in rx.requests}
    assert kinds == {
        ("event.cancelled", "a"),
        ("event.cancelled", "b"),
        ("event.created", "c"),
        ("reminder.due", "c"),
    }
    reasons = {body(r)["data"]["event_id"]: body(r)["data"]["reason"] for r in rx.requests[:3]}
    assert reasons["a"] == "cancelled"
    assert reasons["b"] == "superseded by Deadline c"  # the successor's title, not its id
    successor = next(body(r)["data"]["successor"] for r in rx.requests if body(r)["data"]["event_id"] == "b")
    assert successor["event_id"] == "c"
    assert successor["at"]["utc"] == "2026-07-11T04:01:00Z"  # its new time


# --- downtime -------------------------------------------------------------------------------------


def test_due_while_down_is_sent_late_or_recorded_missed(engine: Engine) -> None:
    clock = SettableClock(START)
    soon = dt.datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    calendar = make_calendar(event("ahead", DEADLINE), event("gone", soon))
    with Receiver() as rx:
        sub = add_subscription(engine, rx.url, clock, lead_times=("P1D",))
        make_service(engine, calendar, clock).start(schedule=False)  # planned, then the process dies
        clock.set(dt.datetime(2026, 7, 8, 12, 0, tzinfo=UTC))  # down for five weeks
        service = make_service(engine, calendar, clock)
        service.start(schedule=False)
        stats = service.run_due(clock.now())
        service.shutdown()
    assert (stats.delivered, stats.missed) == (1, 1)
    (request,) = rx.requests
    assert body(request)["data"]["event_id"] == "ahead"
    assert body(request)["data"]["late"] is True
    states = {r["event_id"]: (r["state"], r["late"]) for r in ledger.list_rows(engine)}
    assert states == {"ahead": ("delivered", True), "gone": ("missed", False)}
    (attempt,) = ledger.list_attempts(engine, sub.id, 10)
    assert attempt.late is True


def test_a_run_parses_each_subscription_once_not_once_per_row(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty reminders of one subscription falling due together: its filter and lead times are read once."""
    parsed: list[str] = []

    def counting(sub: Subscriber) -> Audience:
        parsed.append(sub.id)
        return audience(sub)

    monkeypatch.setattr(delivery, "audience", counting)
    clock = SettableClock(START)
    events = [event(f"e{i}", DEADLINE) for i in range(20)]
    with Receiver() as rx:
        sub = add_subscription(sqlite_engine, rx.url, clock, lead_times=("P1D",))
        service = make_service(sqlite_engine, make_calendar(*events), clock)
        service.start(schedule=False)
        try:
            clock.set(DEADLINE - dt.timedelta(days=1))
            assert service.run_due(clock.now()).delivered == 20
            rx.wait_for(20)
        finally:
            service.shutdown()
    assert parsed == [sub.id]
