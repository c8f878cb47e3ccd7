"""Whole-day deadlines have a zone and a moment: the end of the day for "by", its start for "from".

"Due 31 December 2026" in China is the end of that day in Beijing, not midnight in New York; the JSON
shows such a deadline as a date, webhooks print the date, and reminders are planned from that instant.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.messages import Message, change_data, reminder_data
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.planning import plan_reminders
from calendar_service.render.jsonview import event_to_dict
from calendar_service.render.webhook_payloads import render_payload
from tests.support.paths import CALENDAR_HEAD

TEXT = (
    CALENDAR_HEAD
    + """\
  - id: cn-expiry
    title: China's tariff-exclusion process expires
    kind: deadline
    countries: [CN, US]
    date: 2026-12-31
    sources: [{title: Notice, url: "https://example.org/a"}]
  - id: us-effective
    title: Tariff takes effect
    kind: tariff
    countries: [US]
    date: 2027-01-01
    sources: [{title: Notice, url: "https://example.org/b"}]
  - id: eu-by-start
    title: Rule applies
    kind: deadline
    countries: [EU]
    date: 2027-01-01
    day_moment: start
    day_tz: Europe/Paris
    sources: [{title: Notice, url: "https://example.org/c"}]
  - id: truce
    title: Truce
    kind: truce
    countries: ['*']
    date: 2026-12-01
    end_date: 2026-12-10
    sources: [{title: Notice, url: "https://example.org/d"}]
"""
)
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def calendar() -> Calendar:
    return parse_calendar(TEXT.encode(), "days.yaml", today=NOW.date()).calendar


def test_a_chinese_by_date_ends_at_midnight_in_beijing() -> None:
    event = calendar().get("cn-expiry")
    assert event.deadline_at == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)  # 00:00 1 Jan, UTC+8
    assert event.deadline_day == dt.date(2026, 12, 31)


def test_defaults_by_kind_and_country_and_explicit_overrides() -> None:
    cal = calendar()
    assert cal.get("us-effective").deadline_at == dt.datetime(2027, 1, 1, 5, 0, tzinfo=dt.UTC)  # 00:00 EST
    assert cal.get("eu-by-start").deadline_at == dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)  # 00:00 CET
    # A truce's deadline is its end: the end of its last day, in the calendar's zone for '*'.
    assert cal.get("truce").deadline_at == dt.datetime(2026, 12, 11, 5, 0, tzinfo=dt.UTC)


def test_json_shows_a_whole_day_deadline_as_a_date_with_its_zone() -> None:
    cal = calendar()
    deadline = event_to_dict(cal.get("cn-expiry"), cal)["deadline"]
    assert deadline == {
        "date": "2026-12-31",
        "moment": "end",
        "local": "2027-01-01T00:00:00+08:00",
        "zone": "Asia/Shanghai",
        "utc": "2026-12-31T16:00:00Z",
        "all_day": True,
    }


@dataclass
class Sub:
    id: str = "sub-1"
    enabled: bool = True
    lead_times: tuple[str, ...] = ("P1D",)
    filter: dict[str, list[str]] = field(default_factory=lambda: {"country": ["CN"]})


def test_reminders_are_planned_from_the_end_of_the_day_in_its_zone() -> None:
    (reminder,) = [r for r in plan_reminders(calendar(), [Sub()], NOW) if r.event_id == "cn-expiry"]
    assert reminder.due_at == dt.datetime(2026, 12, 30, 16, 0, tzinfo=dt.UTC)  # a day before Beijing midnight


def test_webhook_text_says_the_date_not_a_midnight() -> None:
    event = calendar().get("cn-expiry")
    assert event.deadline_at is not None
    data = reminder_data(
        event_id=event.id, title=event.title, kind="deadline", deadline=event.deadline_at,
        zone="Asia/Shanghai", lead_time=LeadTime(dt.timedelta(days=1)), now=NOW,
        day_moment="end",
    )  # fmt: skip
    body = json.loads(render_payload(Message("m1", "reminder.due", NOW, data), "slack"))
    text = json.dumps(body, ensure_ascii=False)
    assert "end of Thu 31 Dec 2026 (Asia/Shanghai)" in text
    assert "00:00 CST" not in text


def test_a_moved_whole_day_deadline_is_announced_as_dates() -> None:
    old = dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)  # end of 31 Dec in Beijing
    new = dt.datetime(2027, 6, 30, 16, 0, tzinfo=dt.UTC)  # end of 30 Jun 2027 in Beijing
    data = change_data(
        event_id="cn-expiry", title="Expiry", kind="deadline", zone="Asia/Shanghai", old=old, new=new,
        day_moment="end",
    )  # fmt: skip
    assert (data["old"]["date"], data["new"]["date"]) == ("2026-12-31", "2027-06-30")
    text = json.dumps(json.loads(render_payload(Message("m2", "event.rescheduled", NOW, data), "slack")))
    assert "end of Thu 31 Dec 2026 (Asia/Shanghai)" in text
    assert "end of Wed 30 Jun 2027 (Asia/Shanghai)" in text
