"""The curator's to-do list: what in a valid calendar needs a human to look again, soonest first.

Three kinds of item: a deadline coming up whose sources were last checked long ago (or never), a past
event still `scheduled` or `tentative` (it happened, was cancelled or moved: say which), and a
`tentative` event that is near (firm it up or say why not). Pure: `now` comes from the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.diff import when_text
from calendar_service.core.model import Status

STALE_VERIFICATION = dt.timedelta(days=30)
_OPEN = (Status.SCHEDULED, Status.TENTATIVE)


class Reason(StrEnum):
    """Why an event is on the to-do list."""

    STALE_VERIFICATION = "stale-verification"
    PAST_STILL_OPEN = "past-still-open"
    TENTATIVE_NEAR = "tentative-near"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One thing to check: which event, when it is, why, and what to do."""

    event: Event
    when: dt.datetime  # the instant that makes it urgent (deadline, start or end), in UTC
    reason: Reason
    message: str


def review_calendar(
    calendar: Calendar,
    now: dt.datetime,
    within: dt.timedelta,
    stale_after: dt.timedelta = STALE_VERIFICATION,
) -> list[ReviewItem]:
    """Every to-do item: past first (oldest first), then upcoming by date."""
    tz = calendar.tz
    horizon = now + within
    items: list[ReviewItem] = []
    for event in calendar.events:
        start = event.start_utc(tz)
        over = event.end_utc(tz) or start
        if event.status in _OPEN and over <= now:
            items.append(
                ReviewItem(
                    event,
                    over,
                    Reason.PAST_STILL_OPEN,
                    f"was on {when_text(event)} but is still {event.status.value} — set held, "
                    "cancelled or postponed (with a history entry)",
                )
            )
            continue
        if not event.is_live:
            continue
        if event.deadline_at is not None and now <= event.deadline_at <= horizon:
            checked = event.verified
            if checked is None or now.date() - checked > stale_after:
                said = f"last verified {checked}" if checked else "never verified"
                items.append(
                    ReviewItem(
                        event,
                        event.deadline_at,
                        Reason.STALE_VERIFICATION,
                        f"deadline {event.deadline_day or _day(event.deadline_at, tz)}, {said} — re-check "
                        "the sources and set "
                        "`verified:`",
                    )
                )
        if event.status is Status.TENTATIVE and now <= start <= horizon:
            items.append(
                ReviewItem(
                    event,
                    start,
                    Reason.TENTATIVE_NEAR,
                    f"tentative and starts {_day(start, tz)} — confirm the date (status: scheduled) "
                    "or say in the description why it is still open",
                )
            )
    items.sort(key=lambda item: (item.when, item.event.id, item.reason.value))
    return items


def _day(moment: dt.datetime, tz: dt.tzinfo) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d}"
