"""Who a reminder is for: subscriptions read once per change into what planning needs, and indexed by
their filters so that finding the subscribers of one event does not look at every subscription.

A filter is an AND of parameters, each an OR of values (`filters.EventFilter`), so a subscription can
only match an event that carries, for every parameter it sets, one of its values: `AudienceIndex` files
it under those combinations, and an event looks up the combinations it carries. Subscriptions with no
filed parameter (no filter, or only `hs`, whose codes match by prefix) are candidates for every event.
The index only narrows: `EventFilter.matches` still decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Protocol

from calendar_service.core.calendar import Event
from calendar_service.core.errors import FilterError
from calendar_service.core.filters import EventFilter, parse_filter
from calendar_service.core.reminders.leadtime import LeadTime

# The parameters matched by equality (`hs` matches by prefix: it is left to `EventFilter.matches`).
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
    leads: tuple[LeadTime, ...]
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
        # Checked again: subscriptions stored before the door checked the range.
        leads = tuple(dict.fromkeys(LeadTime.parse(text) for text in sub.lead_times))
    except ValueError as exc:
        return Audience(sub.id, sub.enabled, flt, (), str(exc))
    return Audience(sub.id, sub.enabled, flt, leads)


class AudienceIndex:
    """The listening subscriptions, filed by the values their filters name; see the module docstring.

    A subscription is filed under its signature (the parameters its filter sets) and every combination
    of one value per parameter; an event looks up, for each signature in use, the combinations of the
    values it carries. A filter of country and tag costs an event its few (country, tag) pairs, not a
    look at every subscription with that tag. Subscriptions are put and dropped one at a time, so a
    change costs one subscription's entries.
    """

    def __init__(self, subscribers: Iterable[Audience] = ()) -> None:
        self._filed: dict[tuple[str, ...], dict[tuple[str, ...], dict[str, Audience]]] = {}
        self._entries: dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]] = {}
        for sub in subscribers:
            self.put(sub)

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, sub: Audience) -> None:
        """File `sub` (in place of what was filed under its id); one that does not listen is dropped."""
        self.drop(sub.id)
        if not sub.listening or sub.filter is None:
            return
        names = tuple(name for name in _FILED if getattr(sub.filter, name))
        keys = list(product(*(tuple(str(v) for v in getattr(sub.filter, name)) for name in names)))
        bucket = self._filed.setdefault(names, {})
        for key in keys:
            bucket.setdefault(key, {})[sub.id] = sub
        self._entries[sub.id] = (names, keys)

    def drop(self, sub_id: str) -> None:
        """Forget the subscription with this id, if it is filed."""
        entry = self._entries.pop(sub_id, None)
        if entry is None:
            return
        names, keys = entry
        bucket = self._filed[names]
        for key in keys:
            bucket[key].pop(sub_id, None)
            if not bucket[key]:
                del bucket[key]

    def subscribers(self, event: Event) -> list[Audience]:
        """The subscriptions whose filter `event` passes, by id."""
        found: dict[str, Audience] = {}
        for sub in self._candidates(event):
            if sub.id not in found and sub.wants(event):
                found[sub.id] = sub
        return [found[key] for key in sorted(found)]

    def _candidates(self, event: Event) -> Iterator[Audience]:
        for names, bucket in self._filed.items():
            if "country" in names and "*" in event.countries:
                # An event for every country passes every country filter: the other values decide.
                for subs in bucket.values():
                    yield from subs.values()
                continue
            for key in product(*(_values(event, name) for name in names)):
                yield from bucket.get(key, {}).values()


def _values(event: Event, name: str) -> tuple[str, ...]:
    if name == "country":
        return tuple(event.countries)
    if name == "tag":
        return tuple(event.tags)
    value = getattr(event, name)
    return () if value is None else (str(value),)
