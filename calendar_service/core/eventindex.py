"""Per-version indexes: what every request would otherwise recompute by walking all events.

An `EventIndex` is built once for one calendar version (`build_index`) and kept with it. It only ever
narrows: it hands out the events a selection *could* keep, in a fixed order, and the application's own
predicates (application/events.py, deadlines.py, changes.py) still decide each one. So an indexed
selection is the plain one by construction, and a request costs the candidates, not the calendar.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.filters import EventFilter, known_values
from calendar_service.core.publication import Published

OrderKey = tuple[dt.date, dt.datetime, str]
Span = tuple[Event, dt.datetime, dt.datetime | None]  # an event with its UTC start and end
# Fields a filter value names one-to-one (hs matches by prefix both ways: left to the predicate).
INDEXED = ("country", "kind", "tag", "importance", "status", "authority", "action")
# A span longer than this is kept apart so a window query finds it without walking every start.
LONG_SPAN = dt.timedelta(days=62)


def _values(event: Event, name: str) -> Iterable[Any]:
    if name == "country":
        return event.countries
    if name == "tag":
        return event.tags
    return (getattr(event, name),)


@dataclass(frozen=True, slots=True)
class EventIndex:
    """One calendar version's events sorted and indexed; see the module docstring."""

    ordered: tuple[Event, ...]  # by the order key given to build_index
    keys: Mapping[str, OrderKey]  # event id -> its order key
    postings: Mapping[tuple[str, Any], frozenset[int]]  # (field, value) -> positions in `ordered`
    deadlines: tuple[Event, ...]  # live events with a deadline instant, in the deadline order given
    deadline_rank: Mapping[str, int]  # event id -> place in `deadlines`
    by_deadline: tuple[tuple[dt.datetime, int], ...]  # (instant, rank), sorted by instant
    by_start: tuple[tuple[dt.datetime, int], ...]  # (start instant, calendar position), sorted
    long_spans: tuple[int, ...]  # calendar positions of events longer than LONG_SPAN
    instants: tuple[tuple[dt.datetime, dt.datetime | None], ...]  # per calendar position (UTC)
    by_last_change: tuple[tuple[dt.date, int], ...]  # (latest history date, calendar position), sorted
    vocabulary: Mapping[str, frozenset[str]]  # countries and tags the data uses (form choices)
    calendar: Calendar

    def candidates(self, event_filter: EventFilter) -> list[Event]:
        """The events the filter could let through, in order (a superset: the predicate decides)."""
        chosen: frozenset[int] | None = None
        for name in INDEXED:
            wanted = getattr(event_filter, name)
            if not wanted:
                continue
            if name == "country":
                wanted = (*wanted, "*")  # an event for every country is for each one
            union = frozenset().union(*(self.postings.get((name, value), frozenset()) for value in wanted))
            chosen = union if chosen is None else chosen & union
        if chosen is None:
            return list(self.ordered)
        return [self.ordered[i] for i in sorted(chosen)]

    def deadlines_between(self, begin: dt.datetime, end: dt.datetime | None) -> list[Event]:
        """Live events whose deadline instant is from `begin` to `end` (both included), in deadline order."""
        low = bisect_left(self.by_deadline, (begin, -1))
        high = (
            len(self.by_deadline)
            if end is None
            else bisect_right(self.by_deadline, (end, len(self.deadlines)))
        )
        return [self.deadlines[rank] for rank in sorted(rank for _, rank in self.by_deadline[low:high])]

    def overlapping(
        self, begin: dt.datetime, end: dt.datetime
    ) -> list[tuple[Event, dt.datetime, dt.datetime | None]]:
        """Events starting by `end` and not over before `begin`, with UTC instants, in calendar order."""
        events = self.calendar.events
        low = bisect_left(self.by_start, (begin - LONG_SPAN, -1))
        high = bisect_right(self.by_start, (end, len(events)))
        positions = {p for _, p in self.by_start[low:high]}
        positions.update(self.long_spans)
        out = []
        for position in sorted(positions):
            start, finish = self.instants[position]
            if start <= end and (finish or start) >= begin:
                out.append((events[position], start, finish))
        return out

    def changed_since(self, day: dt.date) -> list[Event]:
        """Events with a history entry on or after `day`, in calendar order."""
        low = bisect_left(self.by_last_change, (day, -1))
        events = self.calendar.events
        return [events[p] for p in sorted(p for _, p in self.by_last_change[low:])]


def build_index(
    calendar: Calendar,
    order: Callable[[Event], OrderKey],
    deadline_order: Callable[[Event], OrderKey],
) -> EventIndex:
    """Index `calendar`: `order` sorts event lists, `deadline_order` sorts deadlines (the application's)."""
    tz = calendar.tz
    keys = {event.id: order(event) for event in calendar}
    ordered = tuple(sorted(calendar, key=lambda e: keys[e.id]))
    postings: dict[tuple[str, Any], set[int]] = {}
    for position, event in enumerate(ordered):
        for name in INDEXED:
            for value in _values(event, name):
                postings.setdefault((name, value), set()).add(position)
    deadlines = tuple(
        sorted((e for e in calendar if e.is_live and e.deadline_at is not None), key=deadline_order)
    )
    by_deadline = sorted((e.deadline_at, rank) for rank, e in enumerate(deadlines) if e.deadline_at)
    instants = tuple((e.start_utc(tz), e.end_utc(tz)) for e in calendar)
    long_spans = tuple(
        p for p, (start, finish) in enumerate(instants) if finish is not None and finish - start > LONG_SPAN
    )
    by_last_change = sorted(
        (max(change.changed for change in e.history), p) for p, e in enumerate(calendar) if e.history
    )
    return EventIndex(
        ordered=ordered,
        keys=keys,
        postings={k: frozenset(v) for k, v in postings.items()},
        deadlines=deadlines,
        deadline_rank={e.id: rank for rank, e in enumerate(deadlines)},
        by_deadline=tuple(by_deadline),
        by_start=tuple(sorted((start, p) for p, (start, _) in enumerate(instants))),
        long_spans=long_spans,
        instants=instants,
        by_last_change=tuple(by_last_change),
        vocabulary=known_values(calendar),
        calendar=calendar,
    )


@dataclass(frozen=True, slots=True)
class StateIndex:
    """One publication state's records by their latest news, so "what did the service see since T" looks
    only at records that could tell of something at or after T: added by an edit, removed, or changed
    more often than its history records (SEQUENCE above the number of history entries)."""

    published: Mapping[str, Published]
    calendar: Calendar
    by_latest: tuple[tuple[dt.datetime, str], ...]  # (latest of added/removed/modified, event id), sorted

    def moved_since(self, since: dt.datetime) -> list[tuple[str, Published]]:
        """The records with a moment at or after `since` (a superset: the caller's rules decide)."""
        low = bisect_left(self.by_latest, (since, ""))
        return [(event_id, self.published[event_id]) for _, event_id in self.by_latest[low:]]


def index_states(published: Mapping[str, Published], calendar: Calendar) -> StateIndex:
    """Index a publication state of `calendar` by each record's latest news (see `StateIndex`)."""
    latest = []
    for event_id, state in published.items():
        recorded = len(calendar.get(event_id).history) if event_id in calendar else 0
        changed = state.last_modified if state.sequence > recorded else None
        moments = [m for m in (changed, state.first_published, state.removed_at) if m is not None]
        if moments:
            latest.append((max(moments), event_id))
    return StateIndex(published=published, calendar=calendar, by_latest=tuple(sorted(latest)))
