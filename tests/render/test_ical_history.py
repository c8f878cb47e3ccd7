"""The feed's "Changes:" lines read the one resolver (core/history.steps), as the API and pages do."""

from __future__ import annotations

import datetime as dt

import icalendar

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.filters import EventFilter
from calendar_service.core.publication import reconcile
from calendar_service.render.ical import render_feed
from tests.support.paths import TESTS_DATA

T0 = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 6, 20, 12, tzinfo=dt.UTC)
RETENTION = dt.timedelta(days=30)
NY = "00:01 America/New_York"


def parsed(text: str) -> Calendar:
    return parse_calendar(text.encode(), "history.yaml", today=dt.date(2025, 6, 10)).calendar


def changes(feed: bytes) -> dict[str, list[str]]:
    """Each VEVENT's "Changes:" lines, by event id."""
    out = {}
    for event in icalendar.Calendar.from_ical(feed).walk("VEVENT"):
        text = str(event["DESCRIPTION"])
        if "Changes:\n" in text:
            block = text.split("Changes:\n", 1)[1].split("\n\n", 1)[0]
            out[str(event["UID"]).split("@")[0]] = block.split("\n")
    return out


def live_and_removed() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The "Changes:" lines of the history cases as live events, and as tombstones once all are removed."""
    text = (TESTS_DATA / "history.yaml").read_text(encoding="utf-8")
    calendar = parsed(text)
    states = reconcile({}, calendar, T0, RETENTION)
    empty = parsed(text.split("events:")[0] + "events: []\n")
    removed = reconcile(states, empty, T1, RETENTION)
    return changes(render_feed(calendar, states, EventFilter())), changes(
        render_feed(empty, removed, EventFilter())
    )


def test_moves_are_told_oldest_first_each_with_the_time_that_replaced_it() -> None:
    # The file lists the later move first; the feed used to pair each `was` with the next line's,
    # saying "was 2025-04-05 → now 2025-04-01" when the event had moved from the 1st to the 5th.
    for feed in live_and_removed():
        assert feed["newest-first"] == [
            f"- 2025-03-01 rescheduled; was 2025-04-01 {NY} → now 2025-04-05 {NY}",
            f"- 2025-03-20 rescheduled; was 2025-04-05 {NY} → now 2025-04-09 {NY}",
        ]


def test_a_superseded_events_now_is_its_own_time_as_the_api_says() -> None:
    # The feed used to say "now" the successor's deadline (2025-11-10) while the event was live and its
    # own time once removed; the API, pages and change list (and DTSTART) say its own time.
    live, removed = live_and_removed()
    expected = [f"- 2025-08-11 superseded; was 2025-08-05 {NY} → now 2025-08-12 {NY}"]
    assert live["old-expiry"] == removed["old-expiry"] == expected


def test_recorded_ends_and_whole_days_are_written_as_before() -> None:
    live, _ = live_and_removed()
    assert live["ordered"] == [
        "- 2025-03-01 rescheduled; was 2025-04-01 00:01 America/New_York → now 2025-04-05 12:00 "
        "Europe/London to 2025-04-06 13:00",
        "- 2025-03-20 rescheduled; was 2025-04-05 12:00 Europe/London to 2025-04-06 13:00 → now "
        "2025-04-09 00:01 America/New_York — moved by the annex",
    ]
    assert live["whole-day"] == [
        "- 2025-03-20 rescheduled; was 2025-05-12 → now 2025-05-19",
        "- 2025-03-25 confirmed",
    ]
