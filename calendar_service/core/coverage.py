"""Coverage: per action and per authority, the next dated step and when its events were last checked.

A front with no next step, a next step verified long ago, or past dates whose outcome no source confirms
is a gap a curator should see before a subscriber does. Pure: `now` comes from the caller.

Every action listed under `actions:` gets a row, and so does every authority of the vocabulary, with or
without events: an empty row is the point (`?authority=Section 201` has nothing to show).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from calendar_service.core import certainty
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.model import Authority

NO_ACTION = "(no action)"
NO_AUTHORITY = "(no authority)"


@dataclass(frozen=True, slots=True)
class NextStep:
    """The first moment still ahead in a group: which event, and the instant (UTC) that makes it next."""

    event: Event
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One action or authority: how many events, the next dated step, and how fresh the checks are."""

    key: str  # the action's id or the authority's name; NO_ACTION / NO_AUTHORITY for the rest
    title: str
    events: int  # dated events in the group, cancelled and superseded ones left out
    next_step: NextStep | None
    last_verified: dt.date | None  # the latest `verified:` among the group's events
    unconfirmed: int  # past tentative events: "date passed, outcome not confirmed"


@dataclass(frozen=True, slots=True)
class Coverage:
    """The two tables `trade-calendar coverage` prints, as of `now`."""

    now: dt.datetime
    actions: tuple[CoverageRow, ...]
    authorities: tuple[CoverageRow, ...]


def coverage_of(calendar: Calendar, now: dt.datetime) -> Coverage:
    """Every action and every authority with its next dated step as of `now` (an aware instant)."""
    live = [event for event in calendar.events if event.is_live]
    by_action: dict[str, list[Event]] = {action.id: [] for action in calendar.actions}
    by_authority: dict[str, list[Event]] = {authority.value: [] for authority in Authority}
    for event in live:
        by_action.setdefault(event.action or NO_ACTION, []).append(event)
        by_authority.setdefault(event.authority.value if event.authority else NO_AUTHORITY, []).append(event)
    titles = {action.id: action.title for action in calendar.actions}
    tz = calendar.tz
    actions = tuple(
        _row(key, titles.get(key, "Events that name no action"), events, now, tz)
        for key, events in sorted(by_action.items(), key=lambda item: (item[0] == NO_ACTION, item[0]))
    )
    authorities = tuple(
        _row(key, key if key != NO_AUTHORITY else "Events that name no authority", events, now, tz)
        for key, events in by_authority.items()
    )
    return Coverage(now, actions, authorities)


def next_step(events: Iterable[Event], now: dt.datetime, default_tz: dt.tzinfo) -> NextStep | None:
    """The earliest moment at or after `now` among the events' start, deadline and end."""
    best: NextStep | None = None
    for event in events:
        ahead = next((moment for moment in _moments(event, default_tz) if moment >= now), None)
        if ahead is not None and (best is None or (ahead, event.id) < (best.at, best.event.id)):
            best = NextStep(event, ahead)
    return best


def _moments(event: Event, default_tz: dt.tzinfo) -> list[dt.datetime]:
    found = {event.start_utc(default_tz)}
    if event.deadline_at is not None:
        found.add(event.deadline_at)
    end = event.end_utc(default_tz)
    if end is not None:
        found.add(end)
    return sorted(found)


def _row(key: str, title: str, events: Sequence[Event], now: dt.datetime, tz: dt.tzinfo) -> CoverageRow:
    checked = [event.verified for event in events if event.verified is not None]
    return CoverageRow(
        key=key,
        title=title,
        events=len(events),
        next_step=next_step(events, now, tz),
        last_verified=max(checked) if checked else None,
        unconfirmed=sum(1 for event in events if certainty.outcome_unconfirmed(event, now, tz)),
    )
