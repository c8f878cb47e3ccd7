"""A past tentative event reads as "outcome not confirmed"; a future one or a firm one does not."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from calendar_service.core.certainty import outcome_unconfirmed, recorded_unconfirmed, unconfirmed_note
from tests.support.reminders import event, make_calendar

NEW_YORK = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("at", "status", "expected"),
    [
        (dt.datetime(2026, 11, 10, 9, 0, tzinfo=NEW_YORK), "tentative", True),
        (dt.datetime(2026, 11, 10, 9, 0, tzinfo=NEW_YORK), "scheduled", False),
        (dt.datetime(2026, 12, 20, 9, 0, tzinfo=NEW_YORK), "tentative", False),
        (dt.datetime(2026, 12, 7, 10, 1, tzinfo=NEW_YORK), "tentative", False),  # 15:01 UTC: a minute ahead
        (dt.datetime(2026, 12, 7, 9, 59, tzinfo=NEW_YORK), "tentative", True),
    ],
)
def test_only_a_tentative_event_whose_time_is_over_is_unconfirmed(
    at: dt.datetime, status: str, expected: bool
) -> None:
    calendar = make_calendar(event("e", at, status=status))
    assert outcome_unconfirmed(calendar.events[0], NOW, calendar.tz) is expected


@pytest.mark.parametrize(
    ("status", "outcome", "expected"),
    [("tentative", "unconfirmed", True), ("tentative", None, False), ("scheduled", None, False)],
)
def test_recorded_unconfirmed_reads_the_data_alone(status: str, outcome: str | None, expected: bool) -> None:
    record = event("e", dt.datetime(2026, 11, 10, 9, 0, tzinfo=NEW_YORK), status=status)
    if outcome:
        record["outcome"] = outcome
    (only,) = make_calendar(record).events
    assert recorded_unconfirmed(only) is expected
    assert (
        unconfirmed_note(only)
        == "Date passed, outcome not confirmed: no source read says whether this happened."
    )
