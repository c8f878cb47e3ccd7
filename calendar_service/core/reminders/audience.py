"""Who a reminder is for: subscriptions read once per change into what planning needs, and indexed by
their filters so that finding the subscribers of one event does not look at every subscription.

A filter is an AND of parameters (`filters.EventFilter`), so a subscription can only match an event
that carries one of the values of any one parameter it sets: each subscription is filed under one such
parameter (the most selective it has), and an event looks up the values it carries. Subscriptions with
no filed parameter (no filter, or only `hs`, whose codes match by prefix) are candidates for every event.
The index only narrows: `EventFilter.matches` still decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from calendar_service.core.calendar import Event
from calendar_service.core.errors import FilterError
from calendar_service.core.filters import EventFilter, parse_filter
from calendar_service.core.subscriptions import normalise_lead_time
from calendar_service.core.timing import parse_duration

# Most selective first: an action or a tag names few events, a status most of them.
_FILED = ("action", "tag", "country", "kind", "authority", "importance", "status")


class Subscriber(Protocol):
    """What planning needs to know about a subscription (the `Subscription` dataclass has it)."""

    @property
    def id(self) -> str: ...

    @property
    def enabled(self) -> bool: ...

    @property
    def lead_times(self) -> Sequence[str]: ...

    @property
    def filter(self) -> Mapping[str, Sequence[str]]: ...


@dataclass(frozen=True, slots=True)
class Audience:
    """One subscription as planning uses it: its filter and lead times parsed once.

    `filter` is None when a stored value is no longer in the vocabulary: it then matches nothing rather
    than everything. `problem` says why it cannot be planned at all (a lead time stored before the range
    was enforced); such a subscription is owed nothing until it is fixed.
    """

    id: str
    enabled: bool
    filter: EventFilter | None
    leads: tuple[tuple[str, dt.timedelta], ...]
    problem: str | None = None

    @property
    def listening(self) -> bool:
        """Whether it hears about any event at all (enabled, with a filter that still parses)."""
        return self.enabled and self.filter is not None

    def wants(self, event: Event) -> bool:
        """Whether it hears about `event`: enabled, and `event` passes its filter."""
        return self.enabled and self.filter is not None and self.filter.matches(event)


def audience(sub: Subscriber) -> Audience:
    """Parse a subscription's filter and lead times, once."""
    try:
        flt: EventFilter | None = parse_filter(sub.filter)
    except FilterError:
        flt = None
    try:
        # The stored spelling is normalised again: rows written before the door checked the range.
        texts = dict.fromkeys(normalise_lead_time(text) for text in sub.lead_times)
        leads = tuple((text, parse_duration(text).as_timedelta()) for text in texts)
    except (ValueError, OverflowError) as exc:
        return Audience(sub.id, sub.enabled, flt, (), str(exc))
    return Audience(sub.id, sub.enabled, flt, leads)


class AudienceIndex:
    """The listening subscriptions, filed by one parameter of their filter; see the module docstring."""

    def __init__(self, subscribers: Iterable[Audience]) -> None:
        self._everyone: list[Audience] = []
        self._filed: dict[str, dict[str, list[Audience]]] = {}
        self.size = 0
        for sub in subscribers:
            if not sub.listening or sub.filter is None:
                continue
            self.size += 1
            name = next((n for n in _FILED if getattr(sub.filter, n, ())), None)
            if name is None:
                self._everyone.append(sub)
                continue
            bucket = self._filed.setdefault(name, {})
            for value in getattr(sub.filter, name):
                bucket.setdefault(str(value), []).append(sub)

    def __len__(self) -> int:
        return self.size

    def subscribers(self, event: Event) -> list[Audience]:
        """The subscriptions whose filter `event` passes, by id."""
        found: dict[str, Audience] = {}
        for sub in self._candidates(event):
            if sub.id not in found and sub.wants(event):
                found[sub.id] = sub
        return [found[key] for key in sorted(found)]

    def _candidates(self, event: Event) -> Iterator[Audience]:
        yield from self._everyone
        for name, bucket in self._filed.items():
            if name == "country" and "*" in event.countries:
                # An event for every country passes every country filter.
                for subs in bucket.values():
                    yield from subs
                continue
            for value in _values(event, name):
                yield from bucket.get(value, ())


def _values(event: Event, name: str) -> tuple[str, ...]:
    if name == "country":
        return tuple(event.countries)
    if name == "tag":
        return tuple(event.tags)
    value = getattr(event, name)
    return () if value is None else (str(value),)
