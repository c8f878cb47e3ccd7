"""How the pages word things: countdowns, repeat rules, codes and names."""

from __future__ import annotations

import datetime as dt

import pytest

from calendar_service.render.wording import countdown, country_name, dotted_hs, rule_text, zone_city


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(days=3, hours=2), "in 3 days"),
        (dt.timedelta(days=1, hours=23), "in 47 hours"),
        (dt.timedelta(hours=1, minutes=59), "in 1 hour"),
        (dt.timedelta(minutes=1), "in 1 minute"),
        (dt.timedelta(seconds=20), "now"),
        (dt.timedelta(hours=-1), "1 hour ago"),
        (dt.timedelta(days=-27), "27 days ago"),
    ],
)
def test_countdowns_read_as_english(delta: dt.timedelta, text: str) -> None:
    assert countdown(delta) == text


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (
            "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=30;UNTIL=20300930",
            "every year on 30 September, until 30 Sep 2030",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6", "every month on the 15th, 6 times"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=1", "every 2 weeks on Monday, Thursday, 1 time"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,2,3,-1;COUNT=4", "every month on the 1st, 2nd, 3rd, last day, 4 times"),
        ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR;COUNT=3", "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR;COUNT=3"),
    ],
)
def test_repeat_rules_in_words_or_as_written(rule: str, text: str) -> None:
    assert rule_text(rule) == text


def test_codes_and_names() -> None:
    assert [dotted_hs(c) for c in ("85", "7601", "854231", "85423100", "8542310000", "9903.01.25")] == [
        "85", "7601", "8542.31", "8542.31.00", "8542.31.00.00", "9903.01.25"
    ]  # fmt: skip
    assert [country_name(c) for c in ("CN", "EU", "*", "XX")] == [
        "China", "European Union", "all or most countries", "XX"
    ]  # fmt: skip
    assert zone_city("America/New_York") == "New York"
