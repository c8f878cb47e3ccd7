"""Each "until when" is exact: the view reads the same one tick before it and differently at it.

Compared with the rules the views use (`wording.countdown`, `int(total_seconds())`, the status badge)
evaluated at the instant itself and one microsecond before, across every unit and both directions.
"""

from __future__ import annotations

import datetime as dt

import pytest

from calendar_service.application.answers import AnswerCache
from calendar_service.application.expiry import (
    TICK,
    countdown_until,
    next_local_midnight,
    remaining_seconds_until,
    unconfirmed_until,
)
from calendar_service.core.calendar import Event
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.timing import zone
from calendar_service.render.wording import badge, countdown

AT = dt.datetime(2025, 7, 9, 4, 1, 0, tzinfo=dt.UTC)
OFFSETS = [
    dt.timedelta(seconds=s, microseconds=us)
    for s in (0, 1, 59, 60, 61, 119, 3599, 3600, 7199, 172799, 172800, 259200, 10**7)
    for us in (0, 1, 999_999)
]


@pytest.mark.parametrize("offset", [*OFFSETS, *(-o for o in OFFSETS)])
def test_countdown_reads_the_same_until_then_differently(offset: dt.timedelta) -> None:
    now = AT - offset
    until = countdown_until(AT, now)
    assert until > now
    assert countdown(AT - (until - TICK)) == countdown(AT - now)
    assert countdown(AT - until) != countdown(AT - now)


@pytest.mark.parametrize("offset", [o for o in OFFSETS if o >= dt.timedelta(0)])
def test_remaining_seconds_hold_until_then_tick(offset: dt.timedelta) -> None:
    now = AT - offset

    def seconds(moment: dt.datetime) -> int:
        return int((AT - moment).total_seconds())

    until = remaining_seconds_until(AT, now)
    assert until > now
    assert seconds(until - TICK) == seconds(now)
    if seconds(now) == 0:
        assert until == AT + TICK  # it reads 0 until the deadline passes and leaves the list
    else:
        assert seconds(until) != seconds(now)


def _event(status: str) -> Event:
    text = f"""calendar: {{name: T, timezone: America/New_York, reviewed: 2025-06-01, contact: a@example.org}}
events:
  - id: talks
    title: Talks
    kind: talks
    status: {status}
    countries: [US]
    date: 2025-07-09
    time: "00:01"
    tz: America/New_York
    sources: [{{title: Notice}}]
"""
    return parse_calendar(text.encode(), "t.yaml", today=dt.date(2025, 6, 1)).calendar.get("talks")


def test_a_tentative_badge_turns_at_its_instant_and_a_firm_one_never() -> None:
    tz = zone("America/New_York")
    tentative, firm = _event("tentative"), _event("scheduled")
    now = AT - dt.timedelta(days=3)
    until = unconfirmed_until(tentative, now, tz)
    assert until is not None
    assert badge(tentative, until - TICK, tz) == badge(tentative, now, tz)
    assert badge(tentative, until, tz) != badge(tentative, now, tz)
    assert unconfirmed_until(tentative, until, tz) is None  # over: it stays unconfirmed
    assert unconfirmed_until(firm, now, tz) is None


def test_the_local_day_turns_at_midnight_in_its_zone() -> None:
    tz = zone("Asia/Tokyo")
    turn = next_local_midnight(dt.datetime(2025, 6, 10, 14, 59, 59, tzinfo=dt.UTC), tz)
    assert turn == dt.datetime(2025, 6, 10, 15, 0, tzinfo=dt.UTC)


def test_the_cache_keeps_an_answer_only_for_its_span_and_generation() -> None:
    cache = AnswerCache[bytes](max_entries=2, max_bytes=10)
    cache.put(1, "a", AT, b"a", AT + dt.timedelta(seconds=5), 1)
    assert cache.get(1, "a", AT + dt.timedelta(seconds=4)) == b"a"
    assert cache.get(1, "a", AT + dt.timedelta(seconds=5)) is None  # its instant: recomputed
    assert cache.get(1, "a", AT - TICK) is None  # a clock set back: not known before it was built
    assert cache.get(2, "a", AT) is None  # another generation
    cache.put(1, "b", AT, b"b", None, 4)
    cache.put(1, "c", AT, b"c", None, 4)
    assert cache.get(1, "a", AT) is None  # at most two entries: the oldest went
    assert len(cache) == 2
    cache.put(1, "d", AT, b"d", None, 8)
    assert len(cache) == 1  # at most ten bytes
    assert cache.bytes == 8
    cache.put(2, "e", AT, b"e", None, 1)
    assert cache.get(1, "d", AT) is None  # a new generation drops the old
    assert len(cache) == 1
    cache.put(1, "late", AT, b"late", None, 1)  # a request still on the old version keeps nothing
    assert cache.get(2, "late", AT) is None
    assert len(cache) == 1
