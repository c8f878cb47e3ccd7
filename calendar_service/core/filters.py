"""Which events a feed, an API query or a subscription wants.

Each parameter may repeat or hold comma-separated values; values of one parameter are alternatives
(OR), different parameters all have to match (AND).

Values are checked against the vocabulary of the file format (ISO 3166-1 codes, the kind, status,
importance and authority lists, the shapes of tags, actions and HS codes), never against the data
loaded today: a subscribed URL or a webhook filter must outlive the edit that removes the last event
with a tag, and a value the data does not hold yet simply matches nothing. A malformed value is a
FilterError naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.errors import FilterError
from calendar_service.core.model import HS_CODE, SLUG, Authority, Importance, Kind, Status
from calendar_service.core.validation import country_codes

FILTER_PARAMETERS = ("country", "kind", "tag", "importance", "status", "authority", "hs", "action")
# Longer than any id, tag or authority the format allows; keeps a hostile query from costing much.
MAX_VALUE_LENGTH = 120
_UNKNOWN = f"unknown filter; use {', '.join(FILTER_PARAMETERS)}"
_SLUG = re.compile(SLUG)
_HS = re.compile(HS_CODE)
CHAPTER_99_PREFIX = "9903."
_CHAPTER_99 = re.compile(r"^9903\.[0-9]{2}\.[0-9]{2}$")  # one heading of the model's CHAPTER_99 shape
_ENUMS: dict[str, type[StrEnum]] = {
    "kind": Kind,
    "importance": Importance,
    "status": Status,
    "authority": Authority,
}


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
    action: tuple[str, ...] = ()

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
        if self.action and event.action not in self.action:
            return False
        return not self.hs or any(_hs_matches(code, event) for code in self.hs)

    def apply(self, events: Iterable[Event]) -> list[Event]:
        """The events that match, in their original order."""
        return [event for event in events if self.matches(event)]

    def cache_key(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """A canonical, hashable form: the same filter in any spelling gives the same key."""
        return tuple((f.name, tuple(sorted(str(v) for v in getattr(self, f.name)))) for f in fields(self))

    def to_query(self) -> dict[str, list[str]]:
        """The filter as query parameters (only those that are set)."""
        return {name: list(values) for name, values in self.cache_key() if values}


def _hs_matches(code: str, event: Event) -> bool:
    if code.startswith(CHAPTER_99_PREFIX):
        # A US chapter 99 heading is no product code: it finds the events filed under it, or under a
        # range of headings that holds it (9903.01.43-9903.01.76; same-width text compares in order).
        for heading in event.chapter99:
            first, _, last = heading.partition("-")
            if first <= code <= (last or first):
                return True
        return False
    # An HS code covers everything below it: hs=854231 finds an action on chapter 85, and hs=85 finds an
    # action on subheading 854231.
    return any(code.startswith(s) or s.startswith(code) for s in event.hs)


def split_values(raw: Sequence[str]) -> list[str]:
    """Flatten repeated and comma-separated values, dropping blanks."""
    return [part.strip() for item in raw for part in item.split(",") if part.strip()]


def parse_filter(params: Mapping[str, Sequence[str]]) -> EventFilter:
    """Build a filter from query-style parameters, checking every value against the vocabulary.

    Every name must be one of FILTER_PARAMETERS: callers that ignore other names (a query string with
    `utm_source`) pick the filter's names out first.
    """
    for name in params:
        if name not in FILTER_PARAMETERS:
            raise FilterError(name, _joined(params[name]), _UNKNOWN)
    values: dict[str, Any] = {}
    for name in FILTER_PARAMETERS:
        raw = params.get(name, ())
        if isinstance(raw, str) or not all(isinstance(item, str) for item in raw):
            raise FilterError(name, _joined(raw), 'give a list of text values, e.g. ["US", "CN"]')
        parts = split_values(raw)
        if parts:
            values[name] = tuple(dict.fromkeys(convert_value(name, value) for value in parts))
    return EventFilter(**values)


def convert_value(name: str, value: str) -> Any:
    """One value of filter `name` in its canonical form; FilterError when the vocabulary has no such value."""
    if len(value) > MAX_VALUE_LENGTH:
        raise FilterError(name, value[:40] + "…", f"a value is at most {MAX_VALUE_LENGTH} characters")
    if name == "country":
        code = value.upper()
        if code not in country_codes():
            raise FilterError(
                name, value, "use an ISO 3166-1 alpha-2 code such as US, CN or GB, EU, or * (every country)"
            )
        return code
    if name in ("tag", "action"):
        slug = value.lower()
        example = "reciprocal" if name == "tag" else "china-fentanyl-tariff"
        if not _SLUG.match(slug):
            raise FilterError(name, value, f"a {name} is lowercase words joined by hyphens, e.g. {example}")
        return slug
    if name == "hs":
        if _CHAPTER_99.match(value):
            return value  # kept dotted, as the data writes chapter 99 headings
        # Tariff schedules print product codes with dots (8542.31); the data holds the digits.
        digits = value.replace(".", "")
        if not _HS.match(digits):
            raise FilterError(
                name,
                value,
                "an HS code is 2, 4, 6, 8, 9 or 10 digits (dots allowed), e.g. 85 or 8542.31, or a US "
                "chapter 99 heading such as 9903.01.25",
            )
        return digits
    enum = _ENUMS.get(name)
    if enum is None:
        raise FilterError(name, value, _UNKNOWN)
    wanted = _loose(value)
    for member in enum:
        if wanted == _loose(member.value):
            return member
    raise FilterError(name, value, f"use one of {', '.join(m.value for m in enum)}")


def _loose(text: str) -> str:
    # "section-232", "Section_232" and "SECTION 232" all name Section 232.
    return re.sub(r"[\s_-]+", " ", text).strip().casefold()


def _joined(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Iterable):
        return ",".join(str(item) for item in raw)
    return str(raw)


def known_values(calendar: Calendar) -> dict[str, frozenset[str]]:
    """The countries and tags the calendar's events use: choices to offer in a form.

    Not a check: a filter value is valid when the vocabulary has it, whether or not the data does.
    """
    return {
        "country": frozenset(c for e in calendar for c in e.countries if c != "*"),
        "tag": frozenset(t for e in calendar for t in e.tags),
    }
