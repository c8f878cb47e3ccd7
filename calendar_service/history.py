"""An event's recorded changes read as "was → now": each earlier time resolved to a real instant.

Pure: takes an event and its calendar's default zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import model, timing
from .store import Event


def earlier_start(was: model.Moment, event: Event, default_tz: dt.tzinfo) -> dt.date | dt.datetime:
    """The start a change record says the event had: an aware time in its zone, or a date."""
    if was.time is None:
        return was.date
    name = was.tz or event.tz
    tz = timing.zone(name) if name else default_tz
    return timing.local_instant(was.date, timing.parse_clock(was.time), tz)


@dataclass(frozen=True, slots=True)
class Step:
    """One change: when it was announced, what kind, the start before and after, and why."""

    change: model.Change
    before: dt.date | dt.datetime | None
    after: dt.date | dt.datetime | None


def steps(event: Event, default_tz: dt.tzinfo) -> list[Step]:
    """The history oldest first; `after` is the next change's earlier time, or the event's start now."""
    ordered = sorted(event.history, key=lambda c: c.changed)
    out: list[Step] = []
    for i, change in enumerate(ordered):
        before = earlier_start(change.was, event, default_tz) if change.was is not None else None
        later = next((c.was for c in ordered[i + 1 :] if c.was is not None), None)
        after = earlier_start(later, event, default_tz) if later is not None else event.start
        out.append(Step(change, before, after if before is not None else None))
    return out
