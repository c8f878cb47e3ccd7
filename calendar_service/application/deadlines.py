"""Which deadlines are coming up: the one selection behind the API, the CLI and the home page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from calendar_service.core.calendar import Event


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
    due = [
        e
        for e in events
        if e.is_live
        and e.deadline_at is not None
        and now <= e.deadline_at
        and (horizon is None or e.deadline_at <= horizon)
    ]
    return sorted(due, key=deadline_order)
