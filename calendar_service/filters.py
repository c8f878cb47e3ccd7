"""Which events a feed, an API query or a subscription wants.

Each parameter may repeat or hold comma-separated values; values of one parameter are alternatives
(OR), different parameters all have to match (AND). A value the calendar cannot know is a FilterError,
never a silently empty result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from .errors import FilterError
from .model import Authority, Importance, Kind, Status
from .store import Calendar, Event

FILTER_PARAMETERS = ("country", "kind", "tag", "importance", "status", "authority", "hs")
_HS = re.compile(r"^\d{2,10}$")


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A normalised filter; empty tuples mean "any"."""

    country: tuple[str, ...] = ()
    kind: tuple[Kind, ...] = ()
    tag: tuple[str, ...] = ()
    importance: tuple[Importance, ...] = ()
    status: tuple[Status, ...] = ()
    authority: tuple[Authority, ...] = ()
    hs: tuple[str, ...] = ()

    def matches(self, event: Event) -> bool:
        """Whether `event` passes every parameter that is set."""
        if self.country and not ("*" in event.countries or any(c in event.countries for c in self.country)):
            return False
        if self.kind and event.kind not in self.kind:
            return False
        if self.tag and not any(t in event.tags for t in self.tag):
            return False
        if self.importance and event.importance not in self.importance:
            return False
        if self.status and event.status not in self.status:
            return False
        if self.authority and event.authority not in self.authority:
            return False
        # An HS code covers everything below it: hs=854231 finds an action on chapter 85, and hs=85 finds
        # an action on subheading 854231.
        return not self.hs or any(q.startswith(s) or s.startswith(q) for q in self.hs for s in event.hs)

    def apply(self, events: Iterable[Event]) -> list[Event]:
        """The events that match, in their original order."""
        return [event for event in events if self.matches(event)]

    def cache_key(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """A canonical, hashable form: the same filter in any spelling gives the same key."""
        return tuple((f.name, tuple(sorted(str(v) for v in getattr(self, f.name)))) for f in fields(self))

    def to_query(self) -> dict[str, list[str]]:
        """The filter as query parameters (only those that are set)."""
        return {name: list(values) for name, values in self.cache_key() if values}


def split_values(raw: Sequence[str]) -> list[str]:
    """Flatten repeated and comma-separated values, dropping blanks."""
    return [part.strip() for item in raw for part in item.split(",") if part.strip()]


def parse_filter(params: Mapping[str, Sequence[str]], calendar: Calendar) -> EventFilter:
    """Build a filter from query-style parameters, checking every value against what the calendar knows."""
    for name in params:
        if name not in FILTER_PARAMETERS:
            raise FilterError(
                name, ",".join(params[name]), f"unknown parameter; use {', '.join(FILTER_PARAMETERS)}"
            )
    values: dict[str, Any] = {}
    for name in FILTER_PARAMETERS:
        raw = split_values(params.get(name, ()))
        if raw:
            values[name] = tuple(dict.fromkeys(_convert(name, value, calendar) for value in raw))
    return EventFilter(**values)


def _convert(name: str, value: str, calendar: Calendar) -> Any:
    if name == "country":
        code = value.upper()
        known = known_values(calendar)["country"]
        if code not in known:
            raise FilterError(
                name, value, f"no event concerns it; countries in the calendar: {_sample(known)}"
            )
        return code
    if name == "tag":
        known = known_values(calendar)["tag"]
        if value not in known:
            raise FilterError(name, value, f"no event carries that tag; tags in use: {_sample(known)}")
        return value
    if name == "hs":
        if not _HS.match(value):
            raise FilterError(name, value, "an HS code is 2 to 10 digits, e.g. 85 or 854231")
        return value
    enum = {"kind": Kind, "importance": Importance, "status": Status, "authority": Authority}[name]
    for member in enum:
        if value.casefold() == member.value.casefold():
            return member
    raise FilterError(name, value, f"use one of {', '.join(m.value for m in enum)}")


def known_values(calendar: Calendar) -> dict[str, frozenset[str]]:
    """The countries and tags the calendar's events use (cached per calendar version)."""
    cached = _KNOWN.get(calendar.version)
    if cached is None:
        cached = {
            "country": frozenset(c for e in calendar for c in e.countries if c != "*"),
            "tag": frozenset(t for e in calendar for t in e.tags),
        }
        if len(_KNOWN) > 8:
            _KNOWN.clear()
        _KNOWN[calendar.version] = cached
    return cached


_KNOWN: dict[str, dict[str, frozenset[str]]] = {}


def _sample(values: frozenset[str], limit: int = 30) -> str:
    ordered = sorted(values)
    more = f", … ({len(ordered) - limit} more)" if len(ordered) > limit else ""
    return ", ".join(ordered[:limit]) + more
