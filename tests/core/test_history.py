"""The one resolver of "was → now": each recorded earlier time paired with the time that replaced it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.history import steps
from tests.support.paths import TESTS_DATA

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def history_calendar() -> Calendar:
    text = (TESTS_DATA / "history.yaml").read_bytes()
    return parse_calendar(text, "history.yaml", today=dt.date(2025, 6, 10)).calendar


def test_steps_are_oldest_first_whatever_order_the_file_gives() -> None:
    calendar = history_calendar()
    moved = steps(calendar.get("newest-first"), calendar.meta.timezone)
    assert [s.change.changed for s in moved] == [dt.date(2025, 3, 1), dt.date(2025, 3, 20)]
    assert [(s.before, s.after) for s in moved] == [
        (dt.datetime(2025, 4, 1, 0, 1, tzinfo=NY), dt.datetime(2025, 4, 5, 0, 1, tzinfo=NY)),
        (dt.datetime(2025, 4, 5, 0, 1, tzinfo=NY), dt.datetime(2025, 4, 9, 0, 1, tzinfo=NY)),
    ]


def test_now_is_the_next_recorded_time_as_written_or_the_start_today() -> None:
    calendar = history_calendar()
    event = calendar.get("ordered")
    first, second = steps(event, calendar.meta.timezone)
    assert first.after == dt.datetime(2025, 4, 5, 12, 0, tzinfo=LONDON)
    assert first.after_was == second.change.was  # with the end it records
    assert second.after == event.start
    assert second.after_was is None


def test_a_superseded_events_now_is_its_own_time_not_its_successors() -> None:
    calendar = history_calendar()
    (step,) = steps(calendar.get("old-expiry"), calendar.meta.timezone)
    assert step.before == dt.datetime(2025, 8, 5, 0, 1, tzinfo=NY)
    assert step.after == dt.datetime(2025, 8, 12, 0, 1, tzinfo=NY)


def test_a_change_without_an_earlier_time_has_no_was_and_no_now() -> None:
    calendar = history_calendar()
    moved, confirmed = steps(calendar.get("whole-day"), calendar.meta.timezone)
    assert (moved.before, moved.after) == (dt.date(2025, 5, 12), dt.date(2025, 5, 19))
    assert (confirmed.change.kind, confirmed.before, confirmed.after, confirmed.after_was) == (
        "confirmed",
        None,
        None,
        None,
    )
