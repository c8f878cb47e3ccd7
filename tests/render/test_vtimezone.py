"""VTIMEZONEs from zoneinfo: yearly rules as Outlook reads them, checked against zoneinfo per instant."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendar_service.render.vtimezone import observances, offset_at, verify, vtimezone_lines


def daily(first_year: int, last_year: int, hour: int = 12) -> list[dt.datetime]:
    day = dt.datetime(first_year, 1, 1, hour, tzinfo=dt.UTC)
    out = []
    while day.year <= last_year:
        out.append(day)
        day += dt.timedelta(days=1)
    return out


def around_transitions(name: str, first_year: int, last_year: int) -> list[dt.datetime]:
    """Instants a second before and at every onset: where a wrong rule shows first."""
    out = []
    for observance in observances(name, first_year, last_year):
        for onset in observance.onsets(dt.datetime(last_year, 12, 31)):
            at = (onset - observance.offset_from).replace(tzinfo=dt.UTC)
            if at.year >= first_year:
                out.extend((at - dt.timedelta(seconds=1), at))
    return out


def test_new_york_current_rules() -> None:
    lines = vtimezone_lines("America/New_York", 2025, 2026)
    assert lines == [
        "BEGIN:VTIMEZONE",
        "TZID:America/New_York",
        "BEGIN:DAYLIGHT",
        "DTSTART:20240310T020000",
        "TZOFFSETFROM:-0500",
        "TZOFFSETTO:-0400",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "TZNAME:EDT",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "DTSTART:20241103T020000",
        "TZOFFSETFROM:-0400",
        "TZOFFSETTO:-0500",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
        "TZNAME:EST",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]


def test_london_uses_last_sunday_not_fourth() -> None:
    rules = [line for line in vtimezone_lines("Europe/London", 2025, 2025) if line.startswith("RRULE")]
    assert rules == ["RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"]


def test_zone_without_dst_is_one_standard() -> None:
    lines = vtimezone_lines("Asia/Shanghai", 2025, 2026)
    assert lines[2:8] == [
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0800",
        "TZOFFSETTO:+0800",
        "TZNAME:CST",
        "END:STANDARD",
    ]
    assert "RRULE" not in "".join(lines)


def test_rule_change_inside_the_span_gives_one_pair_per_period() -> None:
    # The US moved its DST dates in 2007 (Energy Policy Act of 2005).
    lines = vtimezone_lines("America/New_York", 2005, 2009)
    rules = [line for line in lines if line.startswith("RRULE")]
    assert rules == [
        "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
    ]
    assert verify("America/New_York", daily(2005, 2009), 2005, 2009) == []


def test_no_comment_and_no_rdate() -> None:
    for name in ("America/New_York", "Europe/London", "Africa/Casablanca", "Asia/Tehran"):
        text = "\n".join(vtimezone_lines(name, 2020, 2026))
        assert "COMMENT" not in text
        assert "RDATE" not in text


@pytest.mark.parametrize(
    ("name", "first_year", "last_year"),
    [
        ("America/New_York", 2024, 2027),
        ("Europe/London", 2024, 2027),
        ("Europe/Brussels", 2025, 2026),
        ("Australia/Sydney", 2024, 2027),  # southern hemisphere: DST across the new year
        ("Australia/Lord_Howe", 2025, 2026),  # 30-minute DST
        ("Pacific/Chatham", 2025, 2026),  # +12:45
        ("America/Santiago", 2020, 2026),  # rules changed several times
        ("Asia/Tehran", 2020, 2025),  # DST abolished in 2022
        ("Africa/Cairo", 2020, 2026),  # DST back in 2023
        ("Africa/Casablanca", 2024, 2026),  # Ramadan switches: no yearly rule
        ("Asia/Kolkata", 2025, 2026),
        ("UTC", 2025, 2026),
    ],
)
def test_observances_agree_with_zoneinfo(name: str, first_year: int, last_year: int) -> None:
    instants = daily(first_year, last_year) + around_transitions(name, first_year, last_year)
    assert verify(name, instants, first_year, last_year) == []


@pytest.mark.parametrize("name", ["America/New_York", "Europe/London", "Australia/Sydney"])
def test_an_independent_reader_agrees(name: str) -> None:
    """dateutil (through icalendar) expands the RRULEs itself; it must agree with zoneinfo."""
    text = "\r\n".join(vtimezone_lines(name, 2024, 2026)) + "\r\n"
    component = icalendar.Timezone.from_ical(text)
    tz = component.to_tz(lookup_tzid=False)
    zone = ZoneInfo(name)
    for instant in daily(2024, 2026, hour=3):
        local = instant.astimezone(zone).replace(tzinfo=None)
        if local.replace(tzinfo=zone).astimezone(dt.UTC) != instant:
            continue  # the second of two ambiguous wall-clock hours: a wall time alone cannot say which
        assert local.replace(tzinfo=tz).utcoffset() == instant.astimezone(zone).utcoffset(), local


def test_winter_and_summer_offsets() -> None:
    found = observances("America/New_York", 2025, 2025)
    assert offset_at(found, dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)) == dt.timedelta(hours=-5)
    assert offset_at(found, dt.datetime(2025, 7, 15, 12, tzinfo=dt.UTC)) == dt.timedelta(hours=-4)
    # The instant of the spring change: 2025-03-09 02:00 EST = 07:00 UTC.
    assert offset_at(found, dt.datetime(2025, 3, 9, 6, 59, 59, tzinfo=dt.UTC)) == dt.timedelta(hours=-5)
    assert offset_at(found, dt.datetime(2025, 3, 9, 7, 0, tzinfo=dt.UTC)) == dt.timedelta(hours=-4)
