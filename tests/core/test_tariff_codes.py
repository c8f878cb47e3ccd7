"""HS product codes and US chapter 99 headings: kept apart in the data, the JSON, the feed and the filter."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar, parse_calendar
from calendar_service.core.filters import EventFilter, parse_filter
from calendar_service.core.publication import event_from_snapshot, reconcile, snapshot_of
from calendar_service.render.ical import render_feed
from calendar_service.render.jsonview import event_to_dict
from tests.support.paths import DATA

SCOPED = """\
calendar:
  name: Test calendar
  timezone: America/New_York
  reviewed: 2025-06-01
  contact: curators@example.org
events:
  - id: reciprocal
    title: Reciprocal tariffs take effect
    kind: tariff
    countries: [US, CN]
    hs: ["8541", "72029930"]
    chapter99: ["9903.01.25", "9903.01.43-9903.01.76"]
    date: 2025-04-09
    sources: [{title: Notice, url: "https://example.org/n"}]
"""
T0 = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def bundled() -> Calendar:
    return load_calendar(DATA, today=dt.date(2026, 11, 29)).calendar


def scoped() -> Calendar:
    return parse_calendar(SCOPED.encode(), "scoped.yaml", today=dt.date(2025, 6, 10)).calendar


def matching(calendar: Calendar, code: str) -> set[str]:
    return {event.id for event in parse_filter({"hs": [code]}).apply(calendar)}


def test_hs_85_finds_the_chip_action_by_prefix(bundled: Calendar) -> None:
    assert "us-301-china-semiconductors-increase-2027-06-23" in matching(bundled, "85")
    assert "us-301-china-semiconductors-increase-2027-06-23" in matching(bundled, "8541")


def test_hs_72_finds_steel_and_ferro_alloys(bundled: Calendar) -> None:
    assert {"us-232-steel-aluminum-25pct", "eu-ferroalloy-safeguard-expiry-2028-11-17"} <= matching(
        bundled, "72"
    )


def test_chapter_99_headings_are_not_product_codes(bundled: Calendar) -> None:
    # 9903.01.25 is carried by several events, but as a chapter 99 heading: hs=99 matches no product.
    assert any("9903.01.25" in event.chapter99 for event in bundled)
    assert matching(bundled, "99") == set()
    assert matching(bundled, "9903") == set()


def test_json_and_snapshot_carry_both_lists() -> None:
    calendar = scoped()
    event = calendar.get("reciprocal")
    data = event_to_dict(event, calendar)
    assert data["hs"] == ["8541", "72029930"]
    assert data["chapter99"] == ["9903.01.25", "9903.01.43-9903.01.76"]
    assert event_from_snapshot(snapshot_of(event)).chapter99 == event.chapter99


def test_feed_description_names_hs_scope_and_chapter_99_apart() -> None:
    calendar = scoped()
    feed = render_feed(calendar, reconcile({}, calendar, T0, dt.timedelta(days=30)), EventFilter())
    (vevent,) = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    description = str(vevent["DESCRIPTION"])
    assert "HS scope: 8541, 72029930" in description
    assert "US chapter 99: 9903.01.25, 9903.01.43-9903.01.76" in description
