"""Which deadlines are coming up: the one selection behind the API, the CLI and the home page."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable

from calendar_service.application.expiry import TICK
from calendar_service.core.calendar import Event
from calendar_service.core.eventindex import EventIndex
from calendar_service.core.filters import EventFilter


def deadline_order(event: Event) -> tuple[dt.date, dt.datetime, str]:
    """Where a deadline stands in a list: the day a reader is shown, then its instant, then the id.

    A whole-day deadline is shown as its date, so it sorts by that date: "31 Dec (end of day, New
    York)" comes before "1 Jan 08:00 Shanghai" although the end of 31 Dec in New York is later.
    """
    assert event.deadline_at is not None
    assert event.deadline_shown is not None
    return (event.deadline_shown, event.deadline_at, event.id)


def upcoming_deadlines(
    events: Iterable[Event], now: dt.datetime, horizon: dt.datetime | None = None
) -> list[Event]:
    """Live events whose deadline instant falls from `now` to `horizon` (both included; no horizon:
    any time after `now`), in `deadline_order`."""
    return sorted((e for e in events if _due(e, now, horizon)), key=deadline_order)


def _due(event: Event, now: dt.datetime, horizon: dt.datetime | None) -> bool:
    at = event.deadline_at
    return event.is_live and at is not None and now <= at and (horizon is None or at <= horizon)


def upcoming_in(
    index: EventIndex, event_filter: EventFilter, now: dt.datetime, horizon: dt.datetime | None = None
) -> list[Event]:
    """`upcoming_deadlines` of the events `event_filter` lets through, from a version's index: only the
    deadlines between `now` and `horizon` are looked at, already in `deadline_order`."""
    return [
        e for e in index.deadlines_between(now, horizon) if event_filter.matches(e) and _due(e, now, horizon)
    ]


def upcoming_changes_at(
    index: EventIndex, due: list[Event], now: dt.datetime, horizon: dt.datetime | None = None
) -> dt.datetime | None:
    """When the `upcoming_in` list computed at `now` can next change (or earlier; None: not by time):
    the soonest listed deadline passes, or the first deadline beyond the horizon comes within it."""
    instants = [e.deadline_at for e in due if e.deadline_at is not None]
    changes = [min(instants) + TICK] if instants else []
    if horizon is not None:
        beyond = bisect_right(index.by_deadline, (horizon, len(index.deadlines)))
        if beyond < len(index.by_deadline):
            changes.append(now + (index.by_deadline[beyond][0] - horizon))  # its instant - the window
    return min(changes) if changes else None
