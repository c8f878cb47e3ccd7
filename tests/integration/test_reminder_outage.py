"""Reminders through database outages: a locked SQLite file, a crashed PostgreSQL cluster the test owns.

The alarm must ring again after any failure, with backoff (never spinning), so a reminder that fell due
during the outage goes out after it with no other activity; an outcome that could not be written must
not make the reminder go out twice; one subscription that cannot be planned must not stop the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger
from calendar_service.worker.service import Tuning
from tests.support.outages import KINDS, database_outage
from tests.support.polling import wait_until
from tests.support.receiver import Receiver, Reply
from tests.support.reminders import OffsetClock, add_subscription, event, make_calendar, make_service

NY = ZoneInfo("America/New_York")
DEADLINE = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)
DUE = DEADLINE - dt.timedelta(hours=1)
SERVICE_LOG = "calendar_service.worker.service"


def _wakeup_failures(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        1
        for r in caplog.records
        if r.name == SERVICE_LOG
        and r.levelno >= logging.WARNING
        and "wake-up" in r.getMessage()
        and "running again" not in r.getMessage()
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_reminder_due_during_an_outage_goes_out_after_it_with_no_other_activity(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Due 1 s into a 3 s outage: failed wake-ups back off (1 s, 2 s: a handful, not hundreds),
    health says "stale" with the error, and the reminder arrives once the database is back."""
    caplog.set_level(logging.WARNING, logger=SERVICE_LOG)
    clock = OffsetClock.starting_at(DUE - dt.timedelta(hours=1))
    # max_sleep 1 s: the alarm also rings while nothing is due, so moving the clock needs no re-arm.
    tuning = Tuning(concurrency=2, backoff_max=2.0, stale_after=dt.timedelta(seconds=1), max_sleep=1.0)
    with database_outage(kind, tmp_path) as outage, Receiver() as rx:
        engine = outage.engine
        add_subscription(engine, rx.url, clock, lead_times=("PT1H",))
        service = make_service(engine, make_calendar(event("soon", DEADLINE)), clock, tuning=tuning)
        service.start()
        try:
            outage.begin()
            try:
                # Only now does the reminder fall due (in 1 s), however long taking the database took.
                clock.offset = DUE - dt.timedelta(seconds=1) - dt.datetime.now(dt.UTC)
                time.sleep(3.0)
                assert rx.requests == []
                during = service.health()
            finally:
                outage.end()
            (request,) = rx.wait_for(1, timeout=10)
            wait_until(lambda: service.health()["status"] == "ok", what="health to recover")
        finally:
            service.shutdown()
        (row,) = ledger.list_rows(engine)
    assert (row["state"], row["id"]) == ("delivered", request.headers["webhook-id"])
    assert during["status"] == "stale", during
    assert during["oldest_due"] is not None, during
    assert during["last_error"], during
    failures = _wakeup_failures(caplog)
    assert 1 <= failures <= 5, f"{failures} failed wake-ups in a 3 s outage: the alarm spins"
    assert len(rx.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_an_outcome_that_could_not_be_recorded_is_not_sent_again(kind: str, tmp_path: Path) -> None:
    """The database goes away while the receiver answers: the outcome is held, written at the next
    run, and the reminder is not sent a second time when its lease runs out."""
    clock = SettableClock(DUE)
    with database_outage(kind, tmp_path) as outage, Receiver() as rx:
        engine = outage.engine
        rx.script(Reply(200, delay=3.0))  # time to take the database away before the answer, even when busy
        add_subscription(engine, rx.url, clock, lead_times=("PT1H",))
        service = make_service(engine, make_calendar(event("soon", DEADLINE)), clock, timeout=10.0)
        service.start(schedule=False)
        errors: list[Exception] = []

        def first_run() -> None:
            try:
                service.run_due(clock.now())
            except Exception as exc:
                errors.append(exc)

        runner = threading.Thread(target=first_run)
        runner.start()
        rx.wait_for(1)
        outage.begin()
        runner.join(timeout=15)
        outage.end()
        assert errors, "recording should have failed while the database was away"
        clock.advance(Tuning().lease + dt.timedelta(minutes=1))  # the claim has run out
        service.run_due(clock.now())
        service.shutdown()
        assert len(rx.requests) == 1, [r.headers["webhook-id"] for r in rx.requests]
        assert ledger.count_by_state(engine) == {"delivered": 1}


def test_one_unplannable_subscription_is_skipped_logged_once_and_blocks_no_one(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows stored before lead times were checked: an overflowing one is skipped (logged once); a
    38-character spelling of one day is planned as P1D (it overflowed VARCHAR(32) on PostgreSQL)."""
    clock = SettableClock(DEADLINE - dt.timedelta(days=3))
    good = add_subscription(engine, "https://good.example/hook", clock, lead_times=("P1D",))
    bad = add_subscription(engine, "https://bad.example/hook", clock, lead_times=("P99999999999D",))
    padded_day = "P" + "0" * 35 + "1D"
    padded = add_subscription(engine, "https://padded.example/hook", clock, lead_times=(padded_day,))
    service = make_service(engine, make_calendar(event("soon", DEADLINE)), clock)
    service.start(schedule=False)
    service.plan()  # a second plan (and every wake-up) must not log the same row again
    service.shutdown()
    rows = ledger.list_rows(engine)
    assert {(r["subscription_id"], r["lead_time"]) for r in rows} == {(good.id, "P1D"), (padded.id, "P1D")}
    about_bad = [r for r in caplog.records if bad.id in r.getMessage()]
    assert len(about_bad) == 1
    assert "PT1M..P366D" in about_bad[0].getMessage()
