"""A burst's repeated reminders share one data object and one rendered body; what differs is not shared."""

from __future__ import annotations

import dataclasses
import datetime as dt

from calendar_service.adapters.db import ledger
from calendar_service.core.messages import Message
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.messages import reminder_message_data
from calendar_service.render.webhook_payloads import render_payload
from calendar_service.worker.renderings import Renderings
from tests.support.reminders import event, make_calendar

DEADLINE = dt.datetime(2026, 7, 9, 4, 1, tzinfo=dt.UTC)
DUE = DEADLINE - dt.timedelta(days=1)
CALENDAR = make_calendar(event("e0", DEADLINE), event("e1", DEADLINE))


def _row(n: int, event_id: str = "e0") -> ledger.Claimed:
    return ledger.Claimed(
        id=f"rem_{n}", subscription_id=f"sub-{n}", kind="reminder.due", event_id=event_id,
        lead_time=LeadTime.parse("P1D"), payload=None, due_at=DUE, deadline_at=DEADLINE, attempts=0,
        late=False, first_attempt_at=None,
    )  # fmt: skip


def test_the_same_reminder_to_many_subscribers_is_built_and_rendered_once() -> None:
    memo = Renderings()
    datas = [memo.reminder_data(_row(n), CALENDAR, DUE, False, "") for n in range(3)]
    assert datas[0] is datas[1] is datas[2]
    assert datas[0] == reminder_message_data(_row(0), CALENDAR, DUE, False, "")
    messages = [Message(f"rem_{n}", "reminder.due", DUE, datas[n]) for n in range(3)]
    bodies = [memo.body(m, "slack") for m in messages]
    assert bodies[0] is bodies[1] is bodies[2]
    assert bodies[0] == render_payload(messages[0], "slack")


def test_what_determines_the_message_is_never_shared() -> None:
    memo = Renderings()
    base = memo.reminder_data(_row(0), CALENDAR, DUE, False, "")
    assert memo.reminder_data(_row(1, "e1"), CALENDAR, DUE, False, "")["event_id"] == "e1"
    assert memo.reminder_data(_row(2), CALENDAR, DUE, True, "")["late"] is True
    later = memo.reminder_data(_row(3), CALENDAR, DUE + dt.timedelta(hours=1), False, "")
    assert later["time_remaining"] != base["time_remaining"]
    assert memo.reminder_data(_row(4), CALENDAR, DUE, False, "https://x.example")["url"] is not None
    moved = dataclasses.replace(_row(5), deadline_at=DEADLINE + dt.timedelta(days=1))
    assert memo.reminder_data(moved, CALENDAR, DUE, False, "") is not base
    edited = dataclasses.replace(CALENDAR, version="other")
    assert memo.reminder_data(_row(6), edited, DUE, False, "") is not base
    message = Message("rem_0", "reminder.due", DUE, base)
    assert memo.body(message, "standard") != memo.body(message, "teams")
    # An equal but distinct data object (a change notice's own) is rendered for itself.
    copy = Message("rem_0", "reminder.due", DUE, dict(base) | {"title": "Other"})
    assert b"Other" in memo.body(copy, "standard")
