"""How the pages word things: status badges, countdowns, deadlines, zones, codes, names and repeat rules.

Pure: events, instants and codes in, short strings out. Every page (and the Atom feed) says an event's
status the same way, with a word and a mark that is not a colour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pycountry

from calendar_service.core.calendar import Event
from calendar_service.core.certainty import outcome_unconfirmed
from calendar_service.core.model import Authority, DayMoment, Status
from calendar_service.core.validation.rules import SPECIAL_COUNTRIES


@dataclass(frozen=True, slots=True)
class Badge:
    """An event's status as shown: a CSS key, the words, and a glyph so colour is never the only cue."""

    key: str
    text: str
    mark: str

    @property
    def firm(self) -> bool:
        """Whether the date stands as announced (scheduled or held)."""
        return self.key in {"scheduled", "held"}


_BADGES = {
    Status.SCHEDULED: Badge("scheduled", "scheduled", "●"),
    Status.TENTATIVE: Badge("tentative", "tentative", "?"),
    Status.HELD: Badge("held", "held", "✓"),
    Status.POSTPONED: Badge("postponed", "postponed", "…"),
    Status.SUPERSEDED: Badge("superseded", "superseded", "✕"),
    Status.CANCELLED: Badge("cancelled", "cancelled", "✕"),
}
UNCONFIRMED = Badge("unconfirmed", "date passed, not confirmed", "⚠")
REMOVED = Badge("removed", "removed", "✕")


def badge(event: Event, now: dt.datetime, default_tz: dt.tzinfo) -> Badge:
    """The event's status badge; a tentative event whose time is over says its outcome is unconfirmed."""
    if outcome_unconfirmed(event, now, default_tz):
        return UNCONFIRMED
    return _BADGES[event.status]


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def countdown(delta: dt.timedelta) -> str:
    """`in 12 days`, `in 1 hour`, `in 25 minutes`, or how long ago for a past moment."""
    seconds = int(delta.total_seconds())
    ahead = seconds >= 0
    size = abs(seconds)
    if size >= 2 * 86400:
        amount = _plural(size // 86400, "day")
    elif size >= 3600:
        amount = _plural(size // 3600, "hour")
    elif size >= 60:
        amount = _plural(size // 60, "minute")
    else:
        return "now"
    return f"in {amount}" if ahead else f"{amount} ago"


def zone_city(name: str) -> str:
    """`America/New_York` → `New York`: the place a person names a zone by."""
    return name.rsplit("/", 1)[-1].replace("_", " ")


def day_label(day: dt.date) -> str:
    """`31 Dec 2026`."""
    return f"{day.day} {day:%b %Y}"


def deadline_text(event: Event) -> str | None:
    """The deadline as the people concerned read it: `by end of 31 Dec 2026, New York`,
    `from 1 Jan 2027, Brussels`, or the wall-clock time and zone abbreviation of a timed deadline."""
    if event.deadline_at is None:
        return None
    day = event.deadline_day
    if day is not None and event.day_tz is not None:
        place = zone_city(event.day_tz)
        if event.day_moment is DayMoment.END:
            return f"by end of {day_label(day)}, {place}"
        return f"from {day_label(day)}, {place}"
    local = event.deadline_at
    if isinstance(event.start, dt.datetime) and event.start.tzinfo is not None:
        local = local.astimezone(event.start.tzinfo)
    return f"{day_label(local.date())} {local:%H:%M} {local.tzname() or ''}".rstrip()


def deadline_zone(event: Event) -> str:
    """The IANA zone the deadline is read in (a whole day's zone, or a timed event's own), else ``."""
    if event.day_tz is not None:
        return event.day_tz
    if isinstance(event.start, dt.datetime):
        return str(getattr(event.start.tzinfo, "key", ""))
    return ""


def deadline_day_shown(event: Event) -> dt.date | None:
    """The calendar day a reader sees the deadline on (its own zone's day, not the UTC one)."""
    if event.deadline_at is None:
        return None
    if event.deadline_day is not None:
        return event.deadline_day
    if isinstance(event.start, dt.datetime) and event.start.tzinfo is not None:
        return event.deadline_at.astimezone(event.start.tzinfo).date()
    return event.deadline_at.date()


def country_name(code: str) -> str:
    """The country's common name (`CN` → `China`), `EU`, `*` as words, or the code when unknown."""
    special = SPECIAL_COUNTRIES.get(code)
    if special:
        return special
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


AUTHORITY_NAMES = {
    Authority.IEEPA: "International Emergency Economic Powers Act (US)",
    Authority.SECTION_232: "Section 232, Trade Expansion Act of 1962 (US)",
    Authority.SECTION_301: "Section 301, Trade Act of 1974 (US)",
    Authority.SECTION_122: "Section 122, Trade Act of 1974 (US)",
    Authority.SECTION_201: "Section 201, Trade Act of 1974 (US)",
    Authority.EAR: "Export Administration Regulations (US)",
    Authority.AD_CVD: "Anti-dumping and countervailing duties",
    Authority.CHINA_TARIFF_LAW: "Tariff Law of the People's Republic of China",
    Authority.CHINA_EXPORT_CONTROL_LAW: "Export Control Law of the People's Republic of China",
    Authority.TRADE_AGREEMENT: "A trade agreement",
    Authority.OTHER: "Other authority",
}


def dotted_hs(code: str) -> str:
    """An HS/HTS product code as tariff schedules print it: `854231` → `8542.31`, `8542310000` →
    `8542.31.00.00`; chapter 99 headings (already dotted) and two-digit chapters as they are."""
    if "." in code or len(code) <= 4:
        return code
    parts = [code[:4], code[4:6]]
    rest = code[6:]
    while rest:
        parts.append(rest[:2])
        rest = rest[2:]
    return ".".join(parts)


_FREQ = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_WEEKDAYS = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday",
             "SA": "Saturday", "SU": "Sunday"}  # fmt: skip


def _ordinal(day: int) -> str:
    """`1st`, `2nd`, `15th`, `-1` → `last day`."""
    if day == -1:
        return "last day"
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def rule_text(rrule: str) -> str:
    """An RFC 5545 RRULE in words (`FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=30;UNTIL=20300930` → `every year
    on 30 September, until 30 Sep 2030`); a rule with parts this does not word is shown as written."""
    parts = dict(p.partition("=")[::2] for p in rrule.split(";") if p)
    unit = _FREQ.get(parts.pop("FREQ", ""))
    if unit is None:
        return rrule
    interval = int(parts.pop("INTERVAL", "1") or 1)
    text = f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
    months = parts.pop("BYMONTH", "")
    monthdays = parts.pop("BYMONTHDAY", "")
    days = parts.pop("BYDAY", "")
    until = parts.pop("UNTIL", "")
    count = parts.pop("COUNT", "")
    parts.pop("WKST", None)
    if parts:
        return rrule
    month_names = [dt.date(2000, int(m), 1).strftime("%B") for m in months.split(",") if m]
    if monthdays and month_names:
        text += " on " + ", ".join(monthdays.split(",")) + " " + " and ".join(month_names)
    elif monthdays:
        text += " on the " + ", ".join(_ordinal(int(d)) for d in monthdays.split(","))
    elif month_names:
        text += " in " + " and ".join(month_names)
    if days:
        text += " on " + ", ".join(_WEEKDAYS.get(d[-2:], d) for d in days.split(","))
    if until:
        text += f", until {day_label(dt.date(int(until[:4]), int(until[4:6]), int(until[6:8])))}"
    if count:
        text += f", {_plural(int(count), 'time')}"
    return text
