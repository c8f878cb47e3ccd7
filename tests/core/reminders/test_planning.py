"""Planning is pure: which reminders are owed, their stable ids, due times across DST, calendar diffs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.planning import (
    CREATED,
    EVENT_CANCELLED,
    RESCHEDULED,
    diff_calendars,
    plan_reminders,
    reminder_id,
)
from tests.support.reminders import event, make_calendar

NY = ZoneInfo("America/New_York")
UTC = dt.UTC


@dataclass(frozen=True)
class Sub:
    id: str
    lead_times: tuple[str, ...] = ("P7D", "P1D", "PT1H")
    filter: dict[str, tuple[str, ...]] = field(default_factory=dict)
    enabled: bool = True


NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)


def test_each_lead_time_is_due_that_long_before_the_deadline() -> None:
    deadline = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)
    plan = plan_reminders(make_calendar(event("truce-end", deadline)), [Sub("s1")], NOW)
    assert [(r.lead_time.text, r.deadline_at - r.due_at) for r in plan] == [
        ("P7D", dt.timedelta(days=7)),
        ("P1D", dt.timedelta(days=1)),
        ("PT1H", dt.timedelta(hours=1)),
    ]
    assert all(r.deadline_at == deadline for r in plan)


@pytest.mark.parametrize(
    ("deadline", "due_utc"),
    [
        # Spring forward: 00:01 EST on 2026-03-08 is 05:01Z; the hour before is 04:01Z (23:01 EST).
        (dt.datetime(2026, 3, 8, 0, 1, tzinfo=NY), dt.datetime(2026, 3, 8, 4, 1, tzinfo=UTC)),
        # Fall back: 00:01 EDT on 2026-11-01 is 04:01Z; the hour before is 03:01Z.
        (dt.datetime(2026, 11, 1, 0, 1, tzinfo=NY), dt.datetime(2026, 11, 1, 3, 1, tzinfo=UTC)),
        # The repeated hour itself: 01:30 on 2026-11-01 is read as EDT (fold=0), 05:30Z.
        (dt.datetime(2026, 11, 1, 1, 30, tzinfo=NY), dt.datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),
    ],
)
def test_one_hour_before_is_one_real_hour_across_dst(deadline: dt.datetime, due_utc: dt.datetime) -> None:
    now = dt.datetime(2026, 3, 1, tzinfo=UTC)
    plan = plan_reminders(make_calendar(event("d", deadline)), [Sub("s", ("PT1H",))], now)
    (reminder,) = plan
    assert reminder.due_at == due_utc
    assert (reminder.deadline_at - reminder.due_at).total_seconds() == 3600


def test_ids_are_stable_and_name_what_the_reminder_is() -> None:
    deadline = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)
    first = plan_reminders(make_calendar(event("a", deadline)), [Sub("s1")], NOW)
    again = plan_reminders(make_calendar(event("a", deadline)), [Sub("s1")], NOW + dt.timedelta(days=1))
    assert [r.id for r in first] == [r.id for r in again]
    assert len({r.id for r in first}) == 3
    # The same instant written in another zone, or PT24H for P1D, is the same reminder.
    same = reminder_id("s1", "a", deadline, LeadTime.parse("P1D"))
    assert reminder_id("s1", "a", deadline.astimezone(UTC), LeadTime.parse("PT24H")) == same
    moved = reminder_id("s1", "a", deadline + dt.timedelta(days=1), LeadTime.parse("P1D"))
    other_sub = reminder_id("s2", "a", deadline, LeadTime.parse("P1D"))
    assert len({moved, other_sub, reminder_id("s1", "a", deadline, LeadTime.parse("P1D"))}) == 3
    # The ids already in ledgers: a row planned by an earlier version is the row planned now.
    assert same == "rem_c5545faef46aa562c2c40c5bad718a63443ef63f"
    assert (
        reminder_id("s1", "a", deadline, LeadTime.parse("PT1H"))
        == "rem_4b71962a8fa462bf0ff59f817307dc5c2468bad6"
    )


def test_only_live_events_with_a_deadline_ahead_are_planned() -> None:
    cal = make_calendar(
        event("live", dt.datetime(2026, 7, 9, 12, 0, tzinfo=NY)),
        event("past", dt.datetime(2026, 5, 9, 12, 0, tzinfo=NY)),
        event("off", dt.datetime(2026, 7, 9, 12, 0, tzinfo=NY), status="cancelled"),
        event("old", dt.datetime(2026, 7, 9, 12, 0, tzinfo=NY), status="superseded", superseded_by="live"),
    )
    plan = plan_reminders(cal, [Sub("s1"), Sub("paused", enabled=False)], NOW)
    assert {(r.subscription_id, r.event_id) for r in plan} == {("s1", "live")}


def test_due_times_already_past_are_planned_only_within_the_late_window() -> None:
    cal = make_calendar(event("soon", dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)))  # 12 h ahead
    now = dt.datetime(2026, 6, 1, tzinfo=UTC)
    assert [r.lead_time.text for r in plan_reminders(cal, [Sub("s")], now)] == ["PT1H"]
    window = plan_reminders(cal, [Sub("s")], now, late_window=dt.timedelta(hours=13))
    assert [r.lead_time.text for r in window] == ["P1D", "PT1H"]
    everything = plan_reminders(cal, [Sub("s")], now, late_window=dt.timedelta.max)
    assert [r.lead_time.text for r in everything] == ["P7D", "P1D", "PT1H"]


def test_filters_choose_the_events() -> None:
    cal = make_calendar(
        event("us", dt.datetime(2026, 7, 9, 12, 0, tzinfo=NY), countries=["US"]),
        event("cn", dt.datetime(2026, 7, 9, 12, 0, tzinfo=NY), countries=["CN", "US"], tags=["rare-earths"]),
    )
    subs = [
        Sub("cn", ("P1D",), {"country": ("CN",)}),
        Sub("tag", ("P1D",), {"tag": ("rare-earths",)}),
        Sub("gone", ("P1D",), {"tag": ("no-longer-used",)}),
    ]
    plan = plan_reminders(cal, subs, NOW)
    assert {(r.subscription_id, r.event_id) for r in plan} == {("cn", "cn"), ("tag", "cn")}


def test_diff_names_moved_cancelled_superseded_removed_and_new_events() -> None:
    at = dt.datetime(2026, 7, 9, 0, 1, tzinfo=NY)
    later = dt.datetime(2026, 8, 1, 0, 1, tzinfo=NY)
    old = make_calendar(
        event("moves", at),
        event("stays", at),
        event("cancelled", at),
        event("superseded", at),
        event("removed", at),
    )
    new = make_calendar(
        event("moves", later),
        event("stays", at),
        event("cancelled", at, status="cancelled"),
        event("superseded", at, status="superseded", superseded_by="stays"),
        event("fresh", later),
    )
    changes = {c.event_id: c for c in diff_calendars(old, new)}
    assert set(changes) == {"moves", "cancelled", "superseded", "removed", "fresh"}
    moved = changes["moves"]
    assert (moved.kind, moved.old_at, moved.new_at) == (RESCHEDULED, at, later)
    assert (changes["cancelled"].kind, changes["cancelled"].reason) == (EVENT_CANCELLED, "cancelled")
    assert (changes["superseded"].reason, changes["superseded"].superseded_by) == ("superseded", "stays")
    assert (changes["removed"].kind, changes["removed"].reason) == (EVENT_CANCELLED, "removed")
    assert (changes["fresh"].kind, changes["fresh"].new_at) == (CREATED, later)
    assert diff_calendars(old, make_calendar(*[event(e.id, at) for e in old])) == []
    # The same change seen by two processes has one id.
    assert [c.id for c in diff_calendars(old, new)] == [c.id for c in diff_calendars(old, new)]
