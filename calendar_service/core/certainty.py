"""How sure an event is: the one rule every view uses to say "date passed, outcome not confirmed".

A tentative event whose time is over is not a plain past event: no source has said whether it happened.
The feed, the JSON, the pages and `review` must all say so, so they all ask this module.
"""

from __future__ import annotations

import datetime as dt

from calendar_service.core.calendar import Event
from calendar_service.core.model import Status


def outcome_unconfirmed(event: Event, now: dt.datetime, default_tz: dt.tzinfo) -> bool:
    """Whether `event`'s time has passed while no source confirms its outcome (it is still tentative)."""
    if event.status is not Status.TENTATIVE:
        return False
    end = event.end_utc(default_tz) or event.start_utc(default_tz)
    return end <= now
