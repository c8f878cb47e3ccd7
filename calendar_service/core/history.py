"""An event's recorded changes read as "was → now": each earlier time resolved to a real instant.

The one resolver the API, the pages, the change list and the feed's DESCRIPTION read. Pure: takes an
event and its calendar's default zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calendar_service.core import model
from calendar_service.core.calendar import Event, earlier_start


@dataclass(frozen=True, slots=True)
class Step:
    """One change: when it was announced, what kind, the start before and after, and why."""

    change: model.Change
    before: dt.date | dt.datetime | None
    after: dt.date | dt.datetime | None
    # The recorded time `after` resolves (the next change's `was`, with any end it gives); None when
    # `after` is the event's start now, or there is no `before`.
    after_was: model.Moment | None = None


def steps(event: Event, default_tz: str) -> list[Step]:
    """The history oldest first; `after` is the next change's earlier time, or the event's start now."""
    ordered = sorted(event.history, key=lambda c: c.changed)
    out: list[Step] = []
    for i, change in enumerate(ordered):
        before = earlier_start(change.was, event, default_tz) if change.was is not None else None
        later = next((c.was for c in ordered[i + 1 :] if c.was is not None), None)
        if before is None:
            out.append(Step(change, None, None))
            continue
        after = earlier_start(later, event, default_tz) if later is not None else event.start
        out.append(Step(change, before, after, later))
    return out


def time_text(value: dt.date | dt.datetime) -> str:
    """A resolved time as plain text: `2025-04-09 00:01 America/New_York`, or `2025-04-09` for a day."""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M} {getattr(value.tzinfo, 'key', '')}".rstrip()
    return value.isoformat()
