"""A lead time is one value: read from text once, written in one spelling, ordered by length, and text
that is not one is refused saying what to do (or, stored by an earlier version, kept as unread)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_service.core.errors import LeadTimeInvalid
from calendar_service.core.reminders.leadtime import LeadTime, UnreadLeadTime, read_lead_time

MINUTES = st.integers(min_value=1, max_value=366 * 24 * 60)


@pytest.mark.parametrize(
    ("text", "spelled", "delta"),
    [
        ("PT1M", "PT1M", dt.timedelta(minutes=1)),
        ("PT90M", "PT1H30M", dt.timedelta(minutes=90)),
        ("PT24H", "P1D", dt.timedelta(days=1)),
        ("P1W", "P7D", dt.timedelta(days=7)),
        ("P2DT6H", "P2DT6H", dt.timedelta(days=2, hours=6)),
        (" P0001D ", "P1D", dt.timedelta(days=1)),
        ("P366D", "P366D", dt.timedelta(days=366)),
    ],
)
def test_text_is_read_into_its_length_and_written_in_one_spelling(
    text: str, spelled: str, delta: dt.timedelta
) -> None:
    lead = LeadTime.parse(text)
    assert (lead.delta, lead.text, str(lead)) == (delta, spelled, spelled)


@settings(max_examples=40)
@given(MINUTES)
def test_every_lead_time_survives_the_round_trip_through_its_text(minutes: int) -> None:
    lead = LeadTime(dt.timedelta(minutes=minutes))
    assert LeadTime.parse(lead.text) == lead
    assert LeadTime.parse(lead.text).text == lead.text


def test_lead_times_are_equal_by_length_and_ordered_by_it() -> None:
    day, hour, week = LeadTime.parse("P1D"), LeadTime.parse("PT1H"), LeadTime.parse("P7D")
    assert LeadTime.parse("PT24H") == day
    assert hash(LeadTime.parse("PT24H")) == hash(day)
    assert len({day, LeadTime.parse("PT1440M")}) == 1
    assert sorted([day, week, hour]) == [hour, day, week]
    assert hour < day < week
    assert max([day, week, hour]) == week


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("P0D", "it is not positive"),
        ("-P1D", "it is not positive"),
        ("PT0M", "it is not positive"),
        ("P367D", "it is outside the allowed range"),
        ("P366DT1M", "it is outside the allowed range"),
        ("PT8785H", "it is outside the allowed range"),
        ("P53W", "it is outside the allowed range"),
        ("P99999999999D", "it is outside the allowed range"),
        ("1 day", "it is not an ISO 8601 duration"),
        ("", "it is not an ISO 8601 duration"),
        ("PT30S", "it is not an ISO 8601 duration"),  # seconds: finer than any lead time
        ("P" + "9" * 5000 + "D", "it is 5002 characters long"),
    ],
)
def test_text_that_is_not_a_lead_time_is_refused_saying_what_to_do(text: str, reason: str) -> None:
    with pytest.raises(LeadTimeInvalid) as caught:
        LeadTime.parse(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.reason.startswith(reason)
    assert str(error).endswith("use an ISO 8601 duration in PT1M..P366D, such as P1D or PT1H")
    assert len(str(error)) < 200  # names the value (or its start), never megabytes of digits


@pytest.mark.parametrize(
    "delta",
    [dt.timedelta(0), dt.timedelta(seconds=59), dt.timedelta(minutes=1, seconds=30), dt.timedelta(days=367)],
)
def test_a_lead_time_is_checked_when_made_from_a_span_too(delta: dt.timedelta) -> None:
    with pytest.raises(LeadTimeInvalid, match=r"PT1M\.\.P366D"):
        LeadTime(delta)


@pytest.mark.parametrize("text", ["P99999999999D", "P400D", "banana", "P" + "0" * 70 + "1D", "-PT1H"])
def test_stored_text_that_is_not_a_lead_time_is_kept_unread_with_the_reason(text: str) -> None:
    unread = read_lead_time(text)
    assert isinstance(unread, UnreadLeadTime)
    assert unread.text == text
    assert unread.problem.startswith("lead time not understood: ")
    assert "PT1M..P366D" in unread.problem
    assert len(unread.problem) <= 500  # it goes into the ledger's last_error


@settings(max_examples=40)
@given(st.text(max_size=80))
def test_reading_stored_text_never_raises(text: str) -> None:
    assert isinstance(read_lead_time(text), LeadTime | UnreadLeadTime)


def test_a_row_without_a_lead_time_has_none() -> None:
    assert read_lead_time(None) is None
    assert read_lead_time("PT1H") == LeadTime(dt.timedelta(hours=1))
