"""A past event no source confirms reads "date passed, outcome not confirmed" in the feed and the JSON.

The feed answers from the data alone (`outcome: unconfirmed`), so its bytes stay a function of the data
and the filter; the JSON also answers as of a given instant, before a curator has recorded anything.
"""

from __future__ import annotations

import datetime as dt

import icalendar

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.filters import parse_filter
from calendar_service.core.publication import reconcile
from calendar_service.render.ical import render_feed
from calendar_service.render.jsonview import event_to_dict
from tests.support.outcomes import NOT_YET_RECORDED, RECORDED
from tests.support.paths import CALENDAR_HEAD

TODAY = dt.date(2026, 12, 7)
T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
RETENTION = dt.timedelta(days=60)

OTHERS = (
    NOT_YET_RECORDED
    + """
  - id: ahead
    title: Rate announced
    kind: deadline
    status: tentative
    countries: [US]
    date: 2027-05-24
    sources: [{title: Notice, url: "https://example.org/n"}]
  - id: held
    title: Determination published
    kind: announcement
    status: held
    countries: [US]
    date: 2026-06-01
    sources: [{title: Notice, url: "https://example.org/n"}]
"""
)


def calendar_of(text: str) -> Calendar:
    return parse_calendar((CALENDAR_HEAD + text).encode(), "events.yaml", today=TODAY).calendar


def feed_events(calendar: Calendar, at: dt.datetime = T0) -> dict[str, icalendar.Event]:
    body = render_feed(calendar, reconcile({}, calendar, at, RETENTION), parse_filter({}))
    return {str(v["UID"]).split("@")[0]: v for v in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def test_the_feed_marks_a_recorded_unconfirmed_outcome() -> None:
    shown = feed_events(calendar_of(RECORDED + OTHERS))
    recorded = shown["recorded"]
    assert str(recorded["SUMMARY"]) == "Unconfirmed: Hearing on the proposed duties"
    assert recorded["STATUS"] == "TENTATIVE"
    assert str(recorded["DESCRIPTION"]).startswith(
        "Date passed, outcome not confirmed: no source read as of 2026-12-07 says whether this happened."
    )
    # Only the recorded one carries the marker; the others keep what their status says.
    assert str(shown["not-yet-recorded"]["SUMMARY"]) == "Suspension runs out"
    assert shown["not-yet-recorded"]["STATUS"] == "TENTATIVE"
    assert str(shown["ahead"]["SUMMARY"]) == "Rate announced"
    assert shown["held"]["STATUS"] == "CONFIRMED"


def test_the_feed_bytes_do_not_depend_on_the_clock() -> None:
    calendar = calendar_of(RECORDED + OTHERS)
    states = reconcile({}, calendar, T0, RETENTION)
    first = render_feed(calendar, states, parse_filter({}))
    assert render_feed(calendar, states, parse_filter({})) == first  # nothing in it reads a clock


def test_recording_the_outcome_and_undoing_it_revise_the_event_for_subscribers() -> None:
    without = calendar_of(RECORDED.replace("    outcome: unconfirmed\n", "") + OTHERS)
    with_record = calendar_of(RECORDED + OTHERS)
    t1, t2 = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)
    before = reconcile({}, without, T0, RETENTION)
    marked = reconcile(before, with_record, t1, RETENTION)
    undone = reconcile(marked, without, t2, RETENTION)
    # The title changes, so SEQUENCE goes up each way (RFC 5545 §3.8.7.4) and clients update in place.
    assert marked["recorded"].sequence == before["recorded"].sequence + 1
    assert undone["recorded"].sequence == marked["recorded"].sequence + 1
    assert marked["ahead"].sequence == before["ahead"].sequence  # nothing else moved
    body = render_feed(without, undone, parse_filter({}))
    (event,) = [
        v for v in icalendar.Calendar.from_ical(body).walk("VEVENT") if str(v["UID"]).startswith("recorded@")
    ]
    assert str(event["SUMMARY"]) == "Hearing on the proposed duties"


def test_the_json_says_it_from_the_data_and_as_of_an_instant() -> None:
    calendar = calendar_of(RECORDED + OTHERS)
    recorded = event_to_dict(calendar.get("recorded"), calendar)
    assert recorded["outcome"] == "unconfirmed"
    assert recorded["unconfirmed"] is True
    assert recorded["unconfirmed_note"].startswith("Date passed, outcome not confirmed")
    pending = calendar.get("not-yet-recorded")
    assert event_to_dict(pending, calendar)["unconfirmed"] is False  # the data alone does not say
    before = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    after = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)  # the day (New York) is over
    assert event_to_dict(pending, calendar, before)["unconfirmed"] is False
    assert event_to_dict(pending, calendar, after)["unconfirmed"] is True
    assert event_to_dict(pending, calendar, after)["outcome"] is None
    assert event_to_dict(calendar.get("held"), calendar, after)["unconfirmed"] is False
    assert event_to_dict(calendar.get("ahead"), calendar, after)["unconfirmed"] is False
