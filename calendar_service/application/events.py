"""Which events a reader asked for: the one selection behind `/api/v1/events`, `trade-calendar events`
and the pages, and the one order every list of events is shown in.

What `from` and `to` mean (the same for the API, the CLI and the pages):

- A **date** is a day as each event shows it: a whole-day event's own dates (whatever its day zone), a
  timed event's local date in its own zone. `from=D` keeps the events still on on day D or later (their
  last day is D or after); `to=D` keeps those that have begun by the end of day D (their first day is D
  or before). A multi-day event is kept when any of its days falls in the range; an all-day end is
  exclusive, so an event on 9 June alone is not "from 10 June".
- An **instant** (API only; a time without an offset is read in the calendar's zone) compares real
  instants: `from=T` keeps what has not ended by T (a moment at or after T), `to=T` what starts at or
  before T. A whole-day event spans its days in its own day zone (`day_tz`).

Lists are in the order a reader sees them: by the day shown, then by instant, then by id. A whole-day
deadline in New York on 31 December comes before anything shown on 1 January, although its instant
(the end of that day, 05:00 UTC on 1 January) is later than a Shanghai morning on the 1st.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from calendar_service.core.calendar import Event
from calendar_service.core.eventindex import EventIndex
from calendar_service.core.filters import EventFilter

Bound = dt.date | dt.datetime  # a datetime here is aware


@dataclass(frozen=True)
class EventQuery:
    """What a reader asked for: filters, a range (`begin`/`end`, dates or aware instants) and words."""

    event_filter: EventFilter = field(default_factory=EventFilter)
    begin: Bound | None = None
    end: Bound | None = None
    words: tuple[str, ...] = ()  # each must appear (case-folded) in the event's text


def order_key(event: Event) -> tuple[dt.date, dt.datetime, str]:
    """Where an event stands in a list: the first day it shows, then its start instant, then its id."""
    return (event.first_day, event.start_utc(dt.UTC), event.id)


def select_events(events: Iterable[Event] | EventIndex, query: EventQuery) -> list[Event]:
    """The events `query` asks for, in `order_key` order.

    Given a version's index, only the candidates it hands out are judged, already in order: the same
    answer (the index narrows, these predicates decide), without walking every event.
    """
    words = [word.casefold() for word in query.words]
    indexed = isinstance(events, EventIndex)
    candidates = events.candidates(query.event_filter) if isinstance(events, EventIndex) else events
    chosen = [
        event
        for event in candidates
        if query.event_filter.matches(event)
        and starts_by(event, query.end)
        and still_on(event, query.begin)
        and (not words or matches_text(event, words))
    ]
    return chosen if indexed else sorted(chosen, key=order_key)


def still_on(event: Event, begin: Bound | None) -> bool:
    """Whether the event has any part on or after `begin` (a day, or an instant)."""
    if begin is None:
        return True
    if not isinstance(begin, dt.datetime):
        return event.last_day >= begin
    end = event.end_utc(dt.UTC)
    return end > begin if end is not None else event.start_utc(dt.UTC) >= begin


def starts_by(event: Event, end: Bound | None) -> bool:
    """Whether the event has begun by the end of day `end`, or at or before the instant `end`."""
    if end is None:
        return True
    if not isinstance(end, dt.datetime):
        return event.first_day <= end
    return event.start_utc(dt.UTC) <= end


def matches_text(event: Event, words: Iterable[str]) -> bool:
    """Whether every (case-folded) word appears in the event's id, title, description, instrument,
    location, action, tags or sources' titles."""
    haystack = " ".join(
        part
        for part in (
            event.id,
            event.series or "",
            event.title,
            event.description or "",
            event.instrument or "",
            event.location or "",
            event.action or "",
            " ".join(event.tags),
            " ".join(s.title for s in event.sources),
        )
    ).casefold()
    return all(word in haystack for word in words)
