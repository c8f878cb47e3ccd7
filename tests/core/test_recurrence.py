"""Repeating deadlines (RFC 5545 RRULE with an end, and EXDATE exceptions), expanded with python-dateutil.

The store turns a repeating entry into one dated event per occurrence (id `<id>-YYYY-MM-DD`), so the
API, `upcoming` and reminders see concrete dates, each with its own stable reminder id; the feed writes
the series once with RRULE/EXDATE, and an independent expander (recurring-ical-events) must read the same
instants back from it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import icalendar
import recurring_ical_events
from click.testing import CliRunner

from calendar_service.cli import main
from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar, parse_calendar
from calendar_service.core.filters import EventFilter
from calendar_service.core.publication import reconcile
from calendar_service.core.reminders.planning import plan_reminders
from calendar_service.render.ical import render_feed
from tests.support.paths import CALENDAR_HEAD, DATA

TEXT = (
    CALENDAR_HEAD
    + """\
  - id: declaration
    title: Annual declaration due
    kind: deadline
    countries: [EU]
    date: 2027-09-30
    repeat:
      rrule: FREQ=YEARLY;UNTIL=20300930
      exdate: [2029-09-30]
    sources: [{title: Notice, url: "https://example.org/a"}]
  - id: weekly-call
    title: Weekly call
    kind: call
    countries: [US]
    date: 2026-10-20
    time: "10:00"
    tz: America/New_York
    end_time: "11:00"
    repeat:
      rrule: FREQ=WEEKLY;COUNT=4
      exdate: [2026-10-27]
    sources: [{title: Notice, url: "https://example.org/b"}]
"""
)
NOW = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def calendar(text: str = TEXT) -> Calendar:
    return parse_calendar(text.encode(), "repeat.yaml", today=NOW.date()).calendar


def test_each_occurrence_is_a_dated_event_without_the_exceptions() -> None:
    cal = calendar()
    series = [e for e in cal if e.series == "declaration"]
    assert [e.id for e in series] == [
        "declaration-2027-09-30",
        "declaration-2028-09-30",
        "declaration-2030-09-30",
    ]
    # Each is a whole-day deadline counted to the end of its day in Brussels.
    assert [e.deadline_at for e in series] == [
        dt.datetime(2027, 9, 30, 22, 0, tzinfo=dt.UTC),
        dt.datetime(2028, 9, 30, 22, 0, tzinfo=dt.UTC),
        dt.datetime(2030, 9, 30, 22, 0, tzinfo=dt.UTC),
    ]


def test_a_timed_series_keeps_its_wall_clock_across_daylight_saving() -> None:
    calls = [e for e in calendar() if e.series == "weekly-call"]
    # COUNT counts the rule's dates before the exception is taken out (RFC 5545 §3.8.5.1).
    assert [e.id for e in calls] == [
        "weekly-call-2026-10-20",
        "weekly-call-2026-11-03",
        "weekly-call-2026-11-10",
    ]
    assert [e.start.strftime("%H:%M %Z") for e in calls] == ["10:00 EDT", "10:00 EST", "10:00 EST"]  # type: ignore[union-attr]


@dataclass
class Sub:
    id: str = "sub-1"
    enabled: bool = True
    lead_times: tuple[str, ...] = ("P7D",)
    filter: dict[str, list[str]] = field(default_factory=dict)


def test_reminders_have_one_stable_identity_per_occurrence() -> None:
    first = [r for r in plan_reminders(calendar(), [Sub()], NOW) if r.event_id.startswith("declaration-")]
    again = [r for r in plan_reminders(calendar(), [Sub()], NOW) if r.event_id.startswith("declaration-")]
    assert len({r.id for r in first}) == 3
    assert [r.id for r in first] == [r.id for r in again]
    assert first[0].due_at == dt.datetime(2027, 9, 23, 22, 0, tzinfo=dt.UTC)


def test_the_feed_writes_the_series_once_and_an_independent_expander_agrees() -> None:
    cal = calendar()
    feed = render_feed(cal, reconcile({}, cal, NOW, dt.timedelta(days=60)), EventFilter())
    parsed = icalendar.Calendar.from_ical(feed)
    masters = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert set(masters) == {"declaration@trade-calendar", "weekly-call@trade-calendar"}
    assert masters["declaration@trade-calendar"]["RRULE"].to_ical() == b"FREQ=YEARLY;UNTIL=20300930"
    occurrences = recurring_ical_events.of(parsed).between(dt.date(2020, 1, 1), dt.date(2040, 1, 1))
    read_back = sorted(
        (uid, _utc(o["DTSTART"].dt, cal, uid))
        for o in occurrences
        for uid in [str(o["UID"]).removesuffix("@trade-calendar")]
    )
    ours = sorted((e.series or e.id, e.start_utc(cal.tz)) for e in cal)
    assert read_back == ours


def _utc(value: dt.date | dt.datetime, cal: Calendar, series: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    # A whole day begins at midnight in the series' own day zone, as the API says.
    zone = cal.occurrences(series)[0].day_zone(cal.tz)
    return dt.datetime.combine(value, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def test_the_cbam_declaration_is_due_every_30_september_from_2027() -> None:
    result = CliRunner().invoke(
        main,
        [
            "upcoming",
            "--data",
            str(DATA),
            "--now",
            "2026-11-29T12:00:00Z",
            "--days",
            "1500",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    due = [
        item["deadline"]["date"]
        for item in json.loads(result.stdout)
        if "annual-declaration" in item["id"] and item["id"].startswith("eu-cbam")
    ]
    assert due == ["2027-09-30", "2028-09-30", "2029-09-30", "2030-09-30"]
    cal = load_calendar(DATA, today=dt.date(2026, 11, 29)).calendar
    feed = render_feed(cal, reconcile({}, cal, NOW, dt.timedelta(days=60)), EventFilter())
    parsed = icalendar.Calendar.from_ical(feed)
    occurrences = recurring_ical_events.of(parsed).between(dt.date(2027, 1, 1), dt.date(2031, 1, 1))
    september = sorted(
        o["DTSTART"].dt
        for o in occurrences
        if "annual-declaration" in str(o["UID"]) and "cbam" in str(o["UID"])
    )
    assert september == [
        dt.date(2027, 9, 30),
        dt.date(2028, 9, 30),
        dt.date(2029, 9, 30),
        dt.date(2030, 9, 30),
    ]


def test_the_series_in_the_feed_links_to_its_own_page() -> None:
    cal = calendar()
    feed = render_feed(
        cal, reconcile({}, cal, NOW, dt.timedelta(days=60)), EventFilter(), event_base="https://cal.example"
    )
    (master,) = [
        e for e in icalendar.Calendar.from_ical(feed).walk("VEVENT") if "declaration@" in str(e["UID"])
    ]
    assert str(master["URL"]) == "https://cal.example/events/declaration"  # the series' id answers


def test_a_series_whose_first_span_crosses_a_clock_change_still_repeats_on_local_time() -> None:
    # 00:30–02:30 on the night clocks go back: one date written alone would be in UTC; a series needs TZID.
    text = (
        CALENDAR_HEAD
        + """\
  - id: night-window
    title: Night filing window
    kind: deadline
    countries: [US]
    date: 2026-11-01
    time: "00:30"
    tz: America/New_York
    end_time: "02:30"
    repeat:
      rrule: FREQ=WEEKLY;COUNT=3
    sources: [{title: Notice, url: "https://example.org/n"}]
"""
    )
    cal = calendar(text)
    feed = render_feed(cal, reconcile({}, cal, NOW, dt.timedelta(days=60)), EventFilter())
    parsed = icalendar.Calendar.from_ical(feed)
    (master,) = parsed.walk("VEVENT")
    assert master["DTSTART"].params["TZID"] == "America/New_York"
    read_back = sorted(
        o["DTSTART"].dt.astimezone(dt.UTC)
        for o in recurring_ical_events.of(parsed).between(dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    )
    assert read_back == [e.start_utc(cal.tz) for e in cal]
