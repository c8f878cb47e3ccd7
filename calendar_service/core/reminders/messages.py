"""The `data` of the webhook messages the engine sends, built from the calendar and a ledger row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.messages import change_data, event_page_url, reminder_data, successor_data
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.planning import EVENT_CANCELLED, Change, moment
from calendar_service.core.reminders.records import Claimed


def reminder_message_data(
    row: Claimed, calendar: Calendar, now: dt.datetime, late: bool, base_url: str = ""
) -> dict[str, Any]:
    """The `reminder.due` data for a claimed reminder row, as of `now`."""
    event = calendar.get(row.event_id)
    # check_row cancels a reminder row without a deadline or a lead time it understands, first.
    assert isinstance(row.lead_time, LeadTime)
    assert row.deadline_at is not None
    return reminder_data(
        event_id=event.id,
        title=event.title,
        kind=event.kind.value,
        deadline=row.deadline_at,
        zone=_zone_name(event, calendar),
        lead_time=row.lead_time,
        now=now,
        sources=_sources(event),
        late=late,
        day_moment=_day_moment(event),
        url=event_page_url(base_url, event.id),
    )


def change_message_data(
    change: Change, event: Event, calendar: Calendar, base_url: str = ""
) -> dict[str, Any]:
    """The `event.*` data announcing `change` to `event` (as `calendar` has it).

    A supersession names its successor (title and the time that now applies), not only its id.
    """
    successor = _successor(change, calendar)
    return change_data(
        event_id=event.id,
        title=event.title,
        kind=event.kind.value,
        zone=_zone_name(event, calendar),
        old=change.old_at,
        new=change.new_at,
        sources=_sources(event),
        reason=_reason(change, successor),
        day_moment=_day_moment(event),
        successor=successor,
        url=event_page_url(base_url, event.id),
    )


def _successor(change: Change, calendar: Calendar) -> dict[str, Any] | None:
    if change.kind != EVENT_CANCELLED or not change.superseded_by or change.superseded_by not in calendar:
        return None
    after = calendar.get(change.superseded_by)
    return successor_data(
        event_id=after.id,
        title=after.title,
        at=moment(after, calendar),
        zone=_zone_name(after, calendar),
        day_moment=_day_moment(after),
    )


def _day_moment(event: Event) -> str | None:
    # A whole-day deadline is announced as its date ("end of Thu 31 Dec 2026"), not as a midnight.
    return event.day_moment.value if event.day_moment is not None and event.deadline is not None else None


def _zone_name(event: Event, calendar: Calendar) -> str:
    # A whole day is read in its own zone (the issuing jurisdiction's), not the calendar's.
    return event.tz or event.day_tz or calendar.meta.timezone


def _sources(event: Event) -> list[dict[str, str]]:
    return [{"title": s.title, "url": s.url} for s in event.sources if s.url]


def _reason(change: Change, successor: dict[str, Any] | None) -> str | None:
    if change.kind != EVENT_CANCELLED:
        return None
    if successor is not None:
        return f"{change.reason} by {successor['title']}"
    if change.superseded_by:  # the successor is not in the data (yet): its id is all there is
        return f"{change.reason} by {change.superseded_by}"
    return change.reason or None
