"""The curator's to-do list: what in a valid calendar needs a human to look again, soonest first.

Four kinds of item: a deadline coming up whose sources were last checked long ago (or never), a past
event still `scheduled` or `tentative` (it happened, was cancelled or moved: say which), a past event
recorded as `outcome: unconfirmed` (date passed, outcome not confirmed: keep looking for a source), and
a `tentative` event that is near (firm it up or say why not). Pure: `now` comes from the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from calendar_service.core import certainty
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.diff import when_text
from calendar_service.core.model import Status

STALE_VERIFICATION = dt.timedelta(days=30)
_OPEN = (Status.SCHEDULED, Status.TENTATIVE)


class Reason(StrEnum):
    """Why an event is on the to-do list."""

    STALE_VERIFICATION = "stale-verification"
    PAST_STILL_OPEN = "past-still-open"
    OUTCOME_UNCONFIRMED = "outcome-unconfirmed"  # past, recorded `outcome: unconfirmed`: find a source
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
            items.append(_past_item(event, over, now, tz))
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


def _past_item(event: Event, over: dt.datetime, now: dt.datetime, tz: dt.tzinfo) -> ReviewItem:
    """A past event still open: plain "say what happened", or "date passed, outcome not confirmed"."""
    when = when_text(event)
    if certainty.recorded_unconfirmed(event):
        checked = f"last looked {event.verified}" if event.verified else "never verified"
        return ReviewItem(
            event,
            over,
            Reason.OUTCOME_UNCONFIRMED,
            f"was on {when}: {certainty.UNCONFIRMED_TEXT} ({checked}) — look for a source; set held, "
            "cancelled or postponed when one says (with a history entry), and remove `outcome:`",
        )
    if certainty.outcome_unconfirmed(event, now, tz):
        return ReviewItem(
            event,
            over,
            Reason.PAST_STILL_OPEN,
            f"was on {when} but is still tentative: {certainty.UNCONFIRMED_TEXT} — set held, cancelled "
            "or postponed (with a history entry), or `outcome: unconfirmed` if no source says",
        )
    return ReviewItem(
        event,
        over,
        Reason.PAST_STILL_OPEN,
        f"was on {when} but is still {event.status.value} — set held, cancelled or postponed (with a "
        "history entry)",
    )


def _day(moment: dt.datetime, tz: dt.tzinfo) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d}"
