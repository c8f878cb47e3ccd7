"""How sure an event is: the one rule every view uses to say "date passed, outcome not confirmed".

A tentative event whose time is over is not a plain past event: no source has said whether it happened.
The feed, the JSON, the pages and `review` must all say so, so they all ask this module.

Two questions, because two kinds of view ask. `outcome_unconfirmed` takes `now` and answers from the
moment the time is over (pages, the API's live answers, `review`). `recorded_unconfirmed` answers from
the data alone (`outcome: unconfirmed`, written by a curator who looked and found no source): the feed
uses it, because a feed's bytes and ETag are a function of the data version and the filter only, and a
marker that appeared by itself at midnight would change the body under an unchanged ETag. Between the
time passing and the curator's entry the feed still says STATUS:TENTATIVE; `validate` and `review` flag
the event until the entry is made.
"""

from __future__ import annotations

import datetime as dt

from calendar_service.core.calendar import Event
from calendar_service.core.model import Outcome, Status

UNCONFIRMED_TEXT = "date passed, outcome not confirmed"
UNCONFIRMED_PREFIX = "Unconfirmed: "  # a feed title's prefix, like "Cancelled: " and "Postponed: "


def outcome_unconfirmed(event: Event, now: dt.datetime, default_tz: dt.tzinfo) -> bool:
    """Whether `event`'s time has passed while no source confirms its outcome (it is still tentative)."""
    if event.status is not Status.TENTATIVE:
        return False
    end = event.end_utc(default_tz) or event.start_utc(default_tz)
    return end <= now


def recorded_unconfirmed(event: Event) -> bool:
    """Whether the data records that the date passed with no source confirming the outcome."""
    return event.outcome is Outcome.UNCONFIRMED and event.status is Status.TENTATIVE


def unconfirmed_note(event: Event) -> str:
    """One sentence for a reader: the date passed, and since when no source has said what happened."""
    checked = f" as of {event.verified.isoformat()}" if event.verified else ""
    return f"Date passed, outcome not confirmed: no source read{checked} says whether this happened."
