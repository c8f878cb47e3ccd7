"""Which deadlines are coming up: the one selection behind the API, the CLI and the home page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from calendar_service.core.calendar import Event


def upcoming_deadlines(
    events: Iterable[Event], now: dt.datetime, horizon: dt.datetime | None = None
) -> list[Event]:
    """Live events whose deadline falls from `now` to `horizon` (both included; no horizon: any
    time after `now`), soonest first, ties by id."""
    due = [
        e
        for e in events
        if e.is_live
        and e.deadline_at is not None
        and now <= e.deadline_at
        and (horizon is None or e.deadline_at <= horizon)
    ]
    return sorted(due, key=lambda e: (e.deadline_at, e.id))
