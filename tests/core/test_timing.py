"""Durations and wall-clock arithmetic (RFC 5545 §3.3.6: days nominal, hours exact)."""

from __future__ import annotations

import datetime as dt

import pytest

from calendar_service.core import timing

NY = timing.zone("America/New_York")


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [("P90D", 90, 0), ("P1W", 7, 0), ("PT24H", 0, 86400), ("-P7D", -7, 0), ("P1DT2H30M", 1, 9000)],
)
def test_parse_duration(text: str, days: int, seconds: int) -> None:
    parsed = timing.parse_duration(text)
    assert (parsed.days, parsed.seconds) == (days, seconds)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "90D", "P1.5D", ""])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        timing.parse_duration(text)


def test_days_keep_the_wall_clock_across_the_november_dst_change() -> None:
    start = dt.datetime(2025, 8, 12, 0, 1, tzinfo=NY)  # EDT
    later = timing.shift(start, timing.parse_duration("P90D"))
    assert later.isoformat() == "2025-11-10T00:01:00-05:00"  # EST, still 00:01 local


def test_hours_are_exact_elapsed_time_across_the_change() -> None:
    start = dt.datetime(2025, 11, 1, 12, 0, tzinfo=NY)
    later = timing.shift(start, timing.parse_duration("PT24H"))
    assert isinstance(later, dt.datetime)
    # (Subtracting two datetimes with the same tzinfo compares wall clocks; compare instants.)
    assert later.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=24)
    assert later.isoformat() == "2025-11-02T11:00:00-05:00"  # one hour earlier on the wall clock
    assert timing.shift(start, timing.parse_duration("P1D")).isoformat() == "2025-11-02T12:00:00-05:00"


def test_spring_forward_gap_is_detected_and_explained() -> None:
    gap = dt.datetime(2026, 3, 8, 2, 30, tzinfo=NY)
    assert not timing.wall_clock_exists(gap)
    assert timing.clock_change(gap) == (dt.time(2, 0), dt.time(3, 0))


def test_fall_back_overlap_is_detected() -> None:
    twice = dt.datetime(2025, 11, 2, 1, 30, tzinfo=NY)
    assert timing.wall_clock_exists(twice)
    assert timing.clock_change(twice) == (dt.time(2, 0), dt.time(1, 0))
    assert timing.clock_change(dt.datetime(2025, 11, 2, 3, 30, tzinfo=NY)) is None


def test_unknown_zone_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'Mars/Olympus'.*IANA"):
        timing.zone("Mars/Olympus")


def test_all_day_shift_counts_days() -> None:
    assert timing.shift(dt.date(2025, 5, 14), timing.parse_duration("P90D")) == dt.date(2025, 8, 12)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(0), "PT0S"),
        (dt.timedelta(seconds=-5), "PT0S"),
        (dt.timedelta(days=1), "P1D"),
        (dt.timedelta(hours=1, minutes=30), "PT1H30M"),
        (dt.timedelta(days=12, hours=3, minutes=20, seconds=5), "P12DT3H20M5S"),
        (dt.timedelta(days=2, seconds=5), "P2DT5S"),
    ],
)
def test_one_iso_duration_writer(delta: dt.timedelta, text: str) -> None:
    assert timing.iso_duration(delta) == text
