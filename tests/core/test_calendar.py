"""Resolution of the times a curator writes into instants, through `parse_calendar`."""

from __future__ import annotations

import datetime as dt
from textwrap import dedent, indent

import pytest

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar, parse_calendar
from calendar_service.core.errors import StoreInvalid, StoreUnreadable

TODAY = dt.date(2025, 6, 10)
HEAD = """\
calendar:
  name: Test
  timezone: America/New_York
  reviewed: 2025-06-01
  contact: a@example.org
events:
"""
SOURCE = "sources: [{title: Notice, url: 'https://example.org/n'}]"


def calendar_of(*events: str) -> Calendar:
    """Parse events written as YAML mappings (id, title, kind, countries and sources added)."""
    body = ""
    for number, text in enumerate(events):
        fields = dedent(text).strip()
        kind = "" if "kind:" in fields else "kind: tariff\n"
        extra = f"title: Event {number}\n{kind}countries: [US]\n{SOURCE}\n"
        body += "  - " + indent(fields + "\n" + extra, "    ").lstrip()
    return parse_calendar((HEAD + body).encode(), "t.yaml", today=TODAY).calendar


def test_derived_time_is_computed_in_the_events_own_zone_across_dst() -> None:
    cal = calendar_of(
        "id: start\ndate: 2025-08-12\ntime: '00:01'\ntz: America/New_York",
        "id: later\nafter: {event: start, offset: P90D}",
    )
    later = cal.get("later")
    assert isinstance(later.start, dt.datetime)
    assert later.start.isoformat() == "2025-11-10T00:01:00-05:00"  # 00:01 EST, not 23:01
    assert later.tz == "America/New_York"


def test_pt24h_is_exact_elapsed_across_dst() -> None:
    cal = calendar_of(
        "id: start\ndate: 2025-11-01\ntime: '12:00'\ntz: America/New_York",
        "id: later\nafter: {event: start, offset: PT24H}",
    )
    assert cal.get("later").start.isoformat() == "2025-11-02T11:00:00-05:00"


def test_derived_time_with_its_own_clock_and_zone() -> None:
    # Beijing announces for 12:01 the day the US measure takes effect (truce: 14 May 2025).
    cal = calendar_of(
        "id: us\ndate: 2025-05-14\ntime: '00:01'\ntz: America/New_York",
        "id: cn\nafter: {event: us}\ntime: '12:01'\ntz: Asia/Shanghai",
    )
    cn = cal.get("cn")
    assert cn.start.isoformat() == "2025-05-14T12:01:00+08:00"
    assert cn.start_utc(cal.tz) == cal.get("us").start_utc(cal.tz)


def test_derived_from_the_end_of_a_span() -> None:
    cal = calendar_of(
        "id: truce\nkind: truce\ndate: 2025-05-14\nduration: P90D",
        "id: review\nafter: {event: truce, anchor: end, offset: -P7D}",
    )
    assert cal.get("truce").end == dt.date(2025, 8, 12)
    assert cal.get("review").start == dt.date(2025, 8, 5)


def test_derived_times_follow_when_the_anchor_moves() -> None:
    text = "id: a\ndate: {day}", "id: b\nafter: {{event: a, offset: P90D}}"
    first = calendar_of(text[0].format(day="2025-05-14"), text[1].format())
    moved = calendar_of(text[0].format(day="2025-05-20"), text[1].format())
    assert (first.get("b").start, moved.get("b").start) == (dt.date(2025, 8, 12), dt.date(2025, 8, 18))


def test_inclusive_end_date_becomes_an_exclusive_end() -> None:
    cal = calendar_of("id: talks\ndate: 2025-05-10\nend_date: 2025-05-11")
    talks = cal.get("talks")
    assert (talks.start, talks.end) == (dt.date(2025, 5, 10), dt.date(2025, 5, 12))
    assert talks.all_day


def test_single_day_ends_the_next_day() -> None:
    assert calendar_of("id: d\ndate: 2025-07-09").get("d").end == dt.date(2025, 7, 10)


def test_timed_duration_end() -> None:
    cal = calendar_of("id: s\ndate: 2025-06-09\ntime: '13:00'\ntz: Europe/London\nduration: PT7H")
    assert cal.get("s").end.isoformat() == "2025-06-09T20:00:00+01:00"


def test_timed_span_with_end_tz() -> None:
    # The 90-day window: 00:01 EDT on 14 May to 00:01 EST on 10 November, written with the end's zone.
    cal = calendar_of(
        "id: w\ndate: 2025-05-14\ntime: '12:01'\ntz: Asia/Shanghai\n"
        "end_date: 2025-11-10\nend_time: '00:01'\nend_tz: America/New_York"
    )
    window = cal.get("w")
    assert window.start.isoformat() == "2025-05-14T12:01:00+08:00"
    assert window.end is not None
    assert window.end.isoformat() == "2025-11-10T00:01:00-05:00"
    assert window.end_utc(cal.tz) == dt.datetime(2025, 11, 10, 5, 1, tzinfo=dt.UTC)


def test_moment_has_no_end() -> None:
    assert calendar_of("id: m\ndate: 2025-04-09\ntime: '00:01'").get("m").end is None


def test_time_without_tz_uses_the_calendar_zone() -> None:
    assert calendar_of("id: m\ndate: 2025-04-09\ntime: '00:01'").get("m").tz == "America/New_York"


@pytest.mark.parametrize(
    ("fields", "anchor"),
    [
        ("kind: truce\ndate: 2025-05-14\nend_date: 2025-08-11", dt.date(2025, 8, 12)),
        ("date: 2025-04-09", None),
    ],
)
def test_deadline_defaults_end_for_truces_start_otherwise(fields: str, anchor: dt.date | None) -> None:
    cal = calendar_of("id: e\n" + fields)
    event = cal.get("e")
    expected = anchor or event.start
    assert event.deadline_at == dt.datetime.combine(expected, dt.time(0), tzinfo=cal.tz)  # type: ignore[arg-type]


def test_events_are_sorted_by_start_instant() -> None:
    cal = calendar_of(
        "id: late\ndate: 2025-06-10", "id: early\ndate: 2025-06-09\ntime: '23:30'\ntz: Asia/Tokyo"
    )
    assert [e.id for e in cal] == ["early", "late"]


def test_invalid_raises_with_every_problem() -> None:
    with pytest.raises(StoreInvalid) as info:
        parse_calendar(HEAD.encode() + b"  - id: a\n    kind: nope\n", "t.yaml", today=TODAY)
    assert len(info.value.problems) >= 4  # kind, title, countries, sources
    assert all(p.path == "t.yaml" for p in info.value.problems)


def test_unreadable(tmp_path: object) -> None:
    with pytest.raises(StoreUnreadable):
        load_calendar("/nonexistent/events.yaml", today=TODAY)
