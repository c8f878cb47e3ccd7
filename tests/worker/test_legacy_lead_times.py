"""Ledger rows an earlier version wrote with a lead time this one does not accept (out of range, or not a
duration at all): each ends cancelled as "lead time not understood", by the sender or by planning, and
the good rows beside it go out as usual. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger
from calendar_service.core.reminders.planning import REMINDER
from tests.support.receiver import Receiver
from tests.support.reminders import add_subscription, event, make_calendar, make_service

NY = ZoneInfo("America/New_York")
DEADLINE = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)
DUE = DEADLINE - dt.timedelta(hours=1)
# What earlier versions could leave in the column: past the range check that came later, a spelling no
# version reads, and one too long for a timedelta (planning raised OverflowError on it at every pass).
LEGACY = {"rem_legacy_range": "P400D", "rem_legacy_words": "one day", "rem_legacy_huge": "P99999999999D"}


def _write_legacy_rows(engine: Engine, sub_id: str, due: dt.datetime, now: dt.datetime) -> None:
    """Insert rows as an earlier version did: straight into the table, the lead time as it had it."""
    deadline = DEADLINE.astimezone(dt.UTC)
    with engine.begin() as conn:
        for row_id, text in LEGACY.items():
            conn.execute(
                ledger.outbox.insert().values(
                    id=row_id, subscription_id=sub_id, kind=REMINDER, event_id="soon", lead_time=text,
                    due_at=due, deadline_at=deadline, state="pending", attempts=0, next_attempt_at=due,
                    late=False, created_at=now,
                )
            )  # fmt: skip


def _legacy_outcomes(engine: Engine) -> dict[str, tuple[str, str]]:
    rows = {r["id"]: r for r in ledger.list_rows(engine)}
    return {row_id: (rows[row_id]["state"], rows[row_id]["last_error"]) for row_id in LEGACY}


def _expected(text: str) -> str:
    return f"lead time not understood: {text!r} is not a lead time: "


def test_the_sender_cancels_rows_it_cannot_read_and_sends_the_others(engine: Engine) -> None:
    clock = SettableClock(DUE)
    with Receiver() as rx:
        sub = add_subscription(engine, rx.url, clock, lead_times=("PT1H",))
        service = make_service(engine, make_calendar(event("soon", DEADLINE)), clock)
        service.start(schedule=False)
        try:
            # Due before the good row, so they are claimed (and decided) first.
            _write_legacy_rows(engine, sub.id, DUE - dt.timedelta(minutes=5), clock.now())
            stats = service.run_due(clock.now())
            (request,) = rx.wait_for(1)
            again = service.run_due(clock.now())
            service.plan()  # planning looks at rows cancelled lately: these are owed to no one
        finally:
            service.shutdown()
    assert (stats.claimed, stats.delivered, stats.cancelled, stats.failed) == (4, 1, 3, 0)
    assert again.claimed == 0
    assert b'"lead_time":"PT1H"' in request.body
    outcomes = _legacy_outcomes(engine)
    for row_id, text in LEGACY.items():
        state, reason = outcomes[row_id]
        assert state == "cancelled"
        assert reason.startswith(_expected(text)), reason
        assert reason.endswith("use an ISO 8601 duration in PT1M..P366D, such as P1D or PT1H")
    assert len(rx.requests) == 1


def test_planning_cancels_rows_it_cannot_read_and_keeps_the_others(engine: Engine) -> None:
    clock = SettableClock(DEADLINE - dt.timedelta(days=3))
    sub = add_subscription(engine, "https://hooks.example/h", clock, lead_times=("P1D", "PT1H"))
    service = make_service(engine, make_calendar(event("soon", DEADLINE)), clock)
    service.start(schedule=False)
    try:
        _write_legacy_rows(engine, sub.id, DEADLINE - dt.timedelta(days=2), clock.now())
        service.plan()  # a pass over every row, as at start-up
        service.plan()  # and again: nothing changes, nothing raises
    finally:
        service.shutdown()
    for row_id, text in LEGACY.items():
        state, reason = _legacy_outcomes(engine)[row_id]
        assert (state, reason[: len(_expected(text))]) == ("cancelled", _expected(text))
    pending = [r for r in ledger.list_rows(engine, state="pending") if r["id"] not in LEGACY]
    assert sorted(r["lead_time"] for r in pending) == ["P1D", "PT1H"]
