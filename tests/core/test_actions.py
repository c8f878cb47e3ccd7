"""Actions as records: the calendar lists them, events name them, the feed says which one an event is of."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar, parse_calendar
from calendar_service.core.errors import ActionNotFound
from calendar_service.core.filters import EventFilter
from calendar_service.core.model import Authority
from calendar_service.core.publication import reconcile
from calendar_service.render.ical import render_feed
from calendar_service.render.jsonview import action_to_dict
from tests.support.paths import DATA

TEXT = """\
calendar:
  name: Test calendar
  timezone: America/New_York
  reviewed: 2025-06-01
  contact: curators@example.org
actions:
  - id: section-232-steel
    title: Section 232 tariffs on steel
    instrument: Proclamation 10896
    authority: Section 232
    summary: Steel tariffs at 25%, then 50%.
    sources: [{title: Proclamation, url: "https://example.org/p"}]
events:
  - id: steel-50
    title: Steel tariffs rise to 50%
    kind: tariff
    countries: [US]
    action: section-232-steel
    date: 2025-06-04
    sources: [{title: Notice, url: "https://example.org/n"}]
  - id: steel-25
    title: Steel tariffs at 25%
    kind: tariff
    countries: [US]
    action: section-232-steel
    date: 2025-03-12
    sources: [{title: Notice, url: "https://example.org/m"}]
"""


def calendar() -> Calendar:
    return parse_calendar(TEXT.encode(), "actions.yaml", today=dt.date(2025, 6, 10)).calendar


def test_calendar_lists_actions_and_their_events_in_time_order() -> None:
    cal = calendar()
    assert [a.id for a in cal.actions] == ["section-232-steel"]
    action = cal.action("section-232-steel")
    assert (action.title, action.instrument, action.authority) == (
        "Section 232 tariffs on steel",
        "Proclamation 10896",
        Authority.SECTION_232,
    )
    assert [e.id for e in cal.events_of("section-232-steel")] == ["steel-25", "steel-50"]
    assert action_to_dict(action, cal)["events"] == ["steel-25", "steel-50"]
    with pytest.raises(ActionNotFound):
        cal.action("section-232-copper")


def test_feed_names_the_action_of_each_event() -> None:
    cal = calendar()
    feed = render_feed(
        cal, reconcile({}, cal, dt.datetime(2025, 6, 10, tzinfo=dt.UTC), dt.timedelta(1)), EventFilter()
    )
    for vevent in icalendar.Calendar.from_ical(feed).walk("VEVENT"):
        assert "Action: Section 232 tariffs on steel (section-232-steel)" in str(vevent["DESCRIPTION"])


def test_bundled_data_names_only_known_actions_and_uses_every_one() -> None:
    cal = load_calendar(DATA, today=dt.date(2026, 11, 29)).calendar
    named = {event.action for event in cal if event.action}
    assert named == {action.id for action in cal.actions}
    assert len(cal.actions) >= 40
    for action in cal.actions:
        assert action.sources, action.id
        assert cal.events_of(action.id), action.id
