"""The server-drawn timeline: positions inside the window, escaped labels, bounded size."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar
from calendar_service.render.timeline import Item, Lane, lanes_by_action, moment_label, render_svg
from tests.support.paths import TESTS_DATA

UTC = dt.UTC
NOW = dt.datetime(2025, 6, 10, 12, tzinfo=UTC)


def sample() -> Calendar:
    """tests/data/small.yaml resolved."""
    return load_calendar(TESTS_DATA / "small.yaml", today=NOW.date()).calendar


def test_a_window_longer_than_the_view_is_clipped_to_it_and_today_is_marked() -> None:
    begin, end = dt.datetime(2025, 6, 1, tzinfo=UTC), dt.datetime(2025, 7, 1, tzinfo=UTC)
    truce = Item("t", "Truce", dt.datetime(2025, 5, 1, tzinfo=UTC), dt.datetime(2025, 9, 1, tzinfo=UTC),
                 "1 May – 31 Aug", True, "/events/t")  # fmt: skip
    svg = render_svg([Lane("truce", (truce,))], begin, end, NOW, label="test")
    assert 'x="0.00%"' in svg
    assert 'width="100.00%"' in svg
    assert re.search(r'<line class="today" x1="31\.\d\d%"', svg)  # 9.5 of 30 days
    assert ">today</text>" in svg


def test_labels_and_titles_are_escaped() -> None:
    hostile = Item("x", "<script>alert(1)</script>", NOW, None, "10 Jun", True, '/events/x"onmouseover="y')
    day = dt.timedelta(days=1)
    svg = render_svg([Lane("<b>lane</b>", (hostile,))], NOW - day, NOW + day, NOW, label='a"b')
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert '"onmouseover' not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; — 10 Jun" in svg


def test_many_actions_and_dates_are_bounded_and_the_label_says_how_many() -> None:
    calendar = sample()
    event = calendar.get("london")
    tz = calendar.tz
    spans = []
    for i in range(200):
        copy = dataclasses.replace(event, id=f"e{i}", action=f"a{i % 50}" if i < 150 else None)
        start = NOW + dt.timedelta(days=i)
        spans.append((copy, start, None))
    lanes, hidden = lanes_by_action(
        spans, tz, NOW, href=lambda i: f"/events/{i}", group_href=lambda w, n: None, max_lanes=10, max_items=5
    )
    assert len(lanes) == 10
    assert hidden == 41  # 50 actions and one lane of events without one, less the 10 drawn
    assert all(len(lane.items) <= 5 for lane in lanes)
    soonest = [lane for lane in lanes if lane.label.startswith("a0")]
    assert soonest
    assert soonest[0].label == "a0"  # 3 dates: under the cap, no count


def test_a_lane_over_its_cap_says_how_many_it_shows() -> None:
    calendar = sample()
    event = dataclasses.replace(calendar.get("london"), action=None)
    spans = [(dataclasses.replace(event, id=f"e{i}"), NOW + dt.timedelta(days=i), None) for i in range(30)]
    (lane,), hidden = lanes_by_action(
        spans, calendar.tz, NOW, href=str, group_href=lambda w, n: None, max_lanes=5, max_items=8
    )
    assert hidden == 0
    assert lane.label == "talks (no action) · 8 of 30 nearest today"
    assert [i.event_id for i in lane.items] == [f"e{i}" for i in range(8)]


def test_moment_labels_read_as_people_write_dates() -> None:
    assert moment_label(dt.date(2025, 7, 9)) == "9 Jul 2025"
    assert moment_label(dt.date(2025, 7, 10), last_day=True) == "9 Jul 2025"
    assert moment_label(sample().get("london").start) == "10 Jun 2025 10:40 BST"
