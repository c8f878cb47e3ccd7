"""The next instant a view of an event changes with the clock, for answers kept until then (answers.py).

Each function answers "computed at `now`, this part reads the same until (excluded) what instant?",
exactly for the rule the view uses, or earlier (an earlier instant only costs a recomputation). None:
not by time. `earliest` takes the soonest of many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from calendar_service.core.calendar import Event
from calendar_service.core.model import Status

TICK = dt.timedelta(microseconds=1)  # the clock's resolution: a rule `now > t` first changes at t + TICK
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
DAY = 86400
HOUR = 3600


def earliest(instants: Iterable[dt.datetime | None]) -> dt.datetime | None:
    """The soonest of `instants` (None is "never")."""
    found = [instant for instant in instants if instant is not None]
    return min(found) if found else None


def next_minute(now: dt.datetime) -> dt.datetime:
    """The start of the minute after `now`'s."""
    return now.replace(second=0, microsecond=0) + MINUTE


def next_local_midnight(now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """When `now`'s local date in `tz` next changes."""
    local = now.astimezone(tz)
    following = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return following.astimezone(dt.UTC)


def unconfirmed_until(event: Event, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime | None:
    """When `certainty.outcome_unconfirmed` (and so the status badge) next changes: at the end (or start)
    of a tentative event, which it reads as `end <= now`."""
    if event.status is not Status.TENTATIVE:
        return None
    over = event.end_utc(tz) or event.start_utc(tz)
    return over if over > now else None


def passes_at(instant: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """When a rule `now <= instant` (a deadline still ahead) turns false."""
    return instant + TICK if instant >= now else None


def remaining_seconds_until(instant: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When `int((instant - now).total_seconds())` next changes, for `instant >= now`.

    It truncates: it reads s while s <= instant - now < s + 1 s, so it turns s - 1 once
    instant - now < s, that is one tick after instant - s.
    """
    seconds = int((instant - now).total_seconds())
    return instant - dt.timedelta(seconds=seconds) + TICK


def countdown_until(instant: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When `wording.countdown(instant - now)` next reads differently.

    It shows whole days from two days, whole hours from an hour, whole minutes from a minute, else
    "now", of s = int(seconds) (truncated); ahead, the text changes once s drops below its amount in
    units, behind once the size reaches the next unit (or "now" turns "1 minute ago").
    """
    seconds = int((instant - now).total_seconds())
    size = abs(seconds)
    if size < 60:
        return instant + dt.timedelta(seconds=60)  # s <= -60: instant - now <= -60 s
    unit = DAY if size >= 2 * DAY else HOUR if size >= HOUR else 60
    amount = size // unit
    if seconds > 0:
        return instant - dt.timedelta(seconds=amount * unit) + TICK  # instant - now < amount units
    return instant + dt.timedelta(seconds=(amount + 1) * unit)  # now - instant >= (amount + 1) units
