"""The file format of `data/events.yaml`, as pydantic models.

These models are the one definition of the format: the validator checks a file against them and
`trade-calendar schema` prints their JSON Schema for editors. They describe what a curator writes;
`store.py` turns a valid document into resolved `Event` objects with real instants.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TIME = r"^(?:[01]\d|2[0-3]):[0-5]\d$"
# ISO 8601 durations in whole days/hours/minutes: what curators and subscribers write (P90D, PT1H).
DURATION = r"^P(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?)?$"
HS_CODE = r"^\d{2}(?:\d{2}(?:\d{2}(?:\d{2,4})?)?)?$"
# A US HTSUS chapter 99 heading (a temporary tariff provision such as 9903.01.25), or a range of them as
# sources state it ("9903.01.43 through 9903.01.76"). Not a product code: it says which measure applies.
CHAPTER_99 = r"^9903\.\d{2}\.\d{2}(?:-9903\.\d{2}\.\d{2})?$"


class Kind(StrEnum):
    """What sort of thing happens on the date."""

    TALKS = "talks"
    TRUCE = "truce"
    TARIFF = "tariff"
    DEADLINE = "deadline"
    EXPORT_CONTROL = "export-control"
    RULING = "ruling"
    HEARING = "hearing"
    SUMMIT = "summit"
    CALL = "call"
    ANNOUNCEMENT = "announcement"
    AGREEMENT = "agreement"
    REGULATION = "regulation"  # a rule starts to apply or a prohibition bites


class Status(StrEnum):
    """Where the event stands."""

    SCHEDULED = "scheduled"
    TENTATIVE = "tentative"
    HELD = "held"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


class Outcome(StrEnum):
    """What the sources say about how an event whose date has passed turned out."""

    # A curator looked after the date and no source read says whether it happened: the feeds, the JSON,
    # the pages and `review` say "date passed, outcome not confirmed" rather than show a plain past event.
    UNCONFIRMED = "unconfirmed"


class Importance(StrEnum):
    """How much a typical trade desk cares."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Precision(StrEnum):
    """How exactly the sources pin the date down."""

    EXACT = "exact"  # a clock time is stated
    DAY = "day"  # the day is stated, not the time
    APPROXIMATE = "approximate"  # "mid-August", "early next month"
    TBA = "tba"  # announced as coming, date to be announced


class Anchor(StrEnum):
    """Which moment of an event is meant: its start or its end."""

    START = "start"
    END = "end"


class Authority(StrEnum):
    """The legal authority an action rests on."""

    IEEPA = "IEEPA"
    SECTION_232 = "Section 232"
    SECTION_301 = "Section 301"
    SECTION_122 = "Section 122"
    SECTION_201 = "Section 201"
    EAR = "EAR"
    AD_CVD = "AD/CVD"
    CHINA_TARIFF_LAW = "PRC Tariff Law"
    CHINA_EXPORT_CONTROL_LAW = "PRC Export Control Law"
    TRADE_AGREEMENT = "Trade agreement"
    OTHER = "Other"


# Kinds whose deadline is the end unless the entry says otherwise: a truce matters when it runs out.
DEADLINE_DEFAULTS: dict[Kind, Anchor] = {Kind.TRUCE: Anchor.END}


class DayMoment(StrEnum):
    """Which moment of a whole day counts when the day is a deadline."""

    START = "start"  # "from", "applies from", "takes effect on": the day's first moment
    END = "end"  # "by", "until", "expires on": the day's last moment (midnight after it)


# "Due by 31 December" is the usual legal reading of a deadline or a truce's end; anything else (a tariff
# "effective 1 January", a rule that "applies from") counts from the day's start.
DAY_MOMENT_DEFAULTS: dict[Kind, DayMoment] = {Kind.DEADLINE: DayMoment.END, Kind.TRUCE: DayMoment.END}

# Where a whole day is read when the entry does not say: the issuing jurisdiction (the event's first
# country) at its seat of government. Other countries, and '*', fall back to the calendar's zone.
COUNTRY_ZONES: dict[str, str] = {
    "US": "America/New_York",
    "CN": "Asia/Shanghai",
    "HK": "Asia/Hong_Kong",
    "EU": "Europe/Brussels",
    "GB": "Europe/London",
    "CA": "America/Toronto",
    "MX": "America/Mexico_City",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "IN": "Asia/Kolkata",
    "TW": "Asia/Taipei",
    "VN": "Asia/Ho_Chi_Minh",
    "CH": "Europe/Zurich",
    "BR": "America/Sao_Paulo",
    "AU": "Australia/Sydney",
    "RU": "Europe/Moscow",
}


def _duration(value: str) -> str:
    # The pattern (kept simple for editors' JSON Schema engines) lets "P" and "PT" through.
    if value.lstrip("-").rstrip("T") in {"P", ""} or value.endswith("T"):
        raise ValueError(f"{value!r} is an empty duration — write e.g. P90D or PT1H")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Strict):
    """A document that states the date."""

    title: str = Field(min_length=1, description="Title of the article, notice or order")
    publisher: str | None = Field(None, description="Who published it (agency, outlet)")
    date: dt.date | None = Field(None, description="Publication date")
    url: str | None = Field(None, description="Where it can be read; https preferred")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/?#]+\.[^\s/?#]+[^\s]*$", value):
            raise ValueError(f"{value!r} is not an http(s) URL — write it as https://host/path")
        return value


class DerivedTime(_Strict):
    """A date computed from another event: `offset` after (or, negative, before) its start or end."""

    event: str = Field(pattern=SLUG, description="id of the event this date follows from")
    anchor: Anchor = Field(Anchor.START, description="Which moment of that event: start or end")
    offset: str = Field(
        "P0D",
        pattern=r"^-?" + DURATION[1:],
        description="ISO 8601 duration added in the event's own time zone, e.g. P90D; '-P7D' is before",
    )

    _offset = field_validator("offset")(lambda cls, v: _duration(v))


class Moment(_Strict):
    """A recorded earlier version of an event's time, for change history: "was" in "was → now"."""

    date: dt.date = Field(description="The local date it had before the change")
    time: str | None = Field(None, pattern=TIME, description="The clock time it had (HH:MM); none: whole day")
    tz: str | None = Field(None, description="IANA zone of that time; defaults to the event's zone")
    end_date: dt.date | None = None
    end_time: str | None = Field(None, pattern=TIME)
    end_tz: str | None = Field(None, description="IANA zone of `end_time`; defaults to `tz`")


class Repeat(_Strict):
    """A deadline that recurs on a rule (RFC 5545 RRULE): the event's own date is the first occurrence."""

    rrule: str = Field(
        pattern=r"^[A-Za-z]+=[^;\s]+(?:;[A-Za-z]+=[^;\s]+)*$",
        description="RFC 5545 RRULE without DTSTART, with COUNT or UNTIL, e.g. FREQ=YEARLY;UNTIL=20300930 "
        "(a timed event's UNTIL is UTC: 20300930T000000Z)",
    )
    exdate: list[dt.date] = Field(
        default_factory=list, description="Local dates the rule gives that do not happen (RFC 5545 EXDATE)"
    )


class Change(_Strict):
    """One recorded change to an event: what it was, when it changed, and who said so."""

    changed: dt.date = Field(description="When the change was announced")
    kind: Literal["rescheduled", "cancelled", "superseded", "postponed", "corrected", "confirmed"]
    was: Moment | None = Field(None, description="The time before the change (for rescheduled/postponed)")
    was_status: Status | None = Field(None, description="The status before the change")
    note: str | None = None
    source: Source | None = None


class Event(_Strict):
    """One dated event as a curator writes it."""

    id: str = Field(pattern=SLUG, max_length=120, description="Stable slug; becomes the iCalendar UID")
    title: str = Field(min_length=1, max_length=200)
    kind: Kind
    status: Status = Status.SCHEDULED
    countries: list[str] = Field(min_length=1, description="ISO 3166-1 alpha-2 codes, EU, or * for all")
    importance: Importance = Importance.MEDIUM
    tags: list[Annotated[str, Field(pattern=SLUG)]] = Field(default_factory=list)
    action: str | None = Field(
        None, pattern=SLUG, description="id of the action (under `actions:`) this dated event belongs to"
    )
    related: list[Annotated[str, Field(pattern=SLUG)]] = Field(default_factory=list)
    authority: Authority | None = None
    hs: list[Annotated[str, Field(pattern=HS_CODE)]] = Field(
        default_factory=list,
        description="HS product codes in scope as digits: chapters (72), headings (8541), subheadings "
        "(854110) or national tariff lines (85411000); the `hs` filter matches them by prefix",
    )
    chapter99: list[Annotated[str, Field(pattern=CHAPTER_99)]] = Field(
        default_factory=list,
        description="US HTSUS chapter 99 headings the measure is filed under, e.g. 9903.01.25, or a "
        "range 9903.01.43-9903.01.76; these are not HS product codes",
    )
    instrument: str | None = Field(None, description='Legal instrument, e.g. "EO 14257" or "90 FR 15041"')
    location: str | None = None
    description: str | None = None

    date: dt.date | None = Field(None, description="Local date of the start (omit when `after` is given)")
    time: str | None = Field(None, pattern=TIME, description="Local clock time HH:MM; omit for all-day")
    tz: str | None = Field(None, description="IANA time zone of `time`; defaults to the calendar's")
    after: DerivedTime | None = Field(None, description="Compute `date` (and time) from another event")
    end_date: dt.date | None = Field(None, description="Last day of a span (inclusive)")
    end_time: str | None = Field(None, pattern=TIME)
    end_tz: str | None = Field(None, description="IANA zone of `end_time`; defaults to `tz`")
    duration: str | None = Field(None, pattern=DURATION, description="End given as a duration, e.g. P90D")
    _duration = field_validator("duration")(lambda cls, v: None if v is None else _duration(v))

    deadline: Anchor | Literal["none"] | None = Field(
        None, description="Which moment is the deadline; default end for truces, start otherwise"
    )
    precision: Precision | None = Field(None, description="Default: exact with a time, day without")
    repeat: Repeat | None = Field(
        None,
        description="Repeat on a rule: each occurrence becomes its own dated event, id `<id>-YYYY-MM-DD`",
    )
    day_tz: str | None = Field(
        None,
        description="For a whole-day event: the IANA zone its days are read in; default by the first "
        "country (US: America/New_York, CN: Asia/Shanghai, EU: Europe/Brussels, ...), else the calendar's",
    )
    day_moment: DayMoment | None = Field(
        None,
        description="For a whole-day deadline: which moment of the day counts, start ('from') or end "
        "('by'); default end for deadlines and truces, start otherwise",
    )

    superseded_by: str | None = Field(None, pattern=SLUG)
    outcome: Outcome | None = Field(
        None,
        description="For a tentative event whose date has passed: `unconfirmed` records that a curator "
        "looked (on the `verified:` day) and no source says what happened; shown everywhere as 'date "
        "passed, outcome not confirmed'. Only with status tentative",
    )
    history: list[Change] = Field(default_factory=list)
    # `verified:` means a person read the event's sources on that date and found the entry right; the
    # source watch (core/sourcecheck.py) puts the event back on the review list when a source changes
    # after it. Set it with `trade-calendar review --verify ID`, never by a bulk edit.
    verified: dt.date | None = Field(
        None,
        description="The day a curator last re-read this entry's sources and found that they state its "
        "date, time and status as written; not the day the entry was typed or copied. Leave the old day "
        "when a source could not be read",
    )
    proposed_from: str | None = Field(
        None,
        max_length=160,
        description="The watched document this entry was proposed from (e.g. fr-2026-12345), when a "
        "curator accepted a proposal",
    )
    sources: list[Source] = Field(min_length=1)


class Action(_Strict):
    """A measure, agreement or process that several dated events belong to (events name it in `action:`)."""

    id: str = Field(pattern=SLUG, max_length=120, description="Stable slug; events name it in `action:`")
    title: str = Field(min_length=1, max_length=200)
    instrument: str | None = Field(None, description='The legal instrument it rests on, e.g. "EO 14257"')
    authority: Authority | None = None
    summary: str | None = Field(None, description="What the action does, in a sentence or two")
    sources: list[Source] = Field(min_length=1)


class CalendarMeta(_Strict):
    """Metadata about the whole calendar."""

    name: str = Field(min_length=1)
    description: str = ""
    timezone: str = Field(description="Default IANA time zone for times given without `tz`")
    reviewed: dt.date = Field(description="When the data as a whole was last reviewed")
    contact: str = Field(min_length=1, description="Where to report a wrong date")
    url: str | None = None


class Document(_Strict):
    """The whole `events.yaml` file."""

    calendar: CalendarMeta
    actions: list[Action] = Field(default_factory=list, description="The actions events name in `action:`")
    events: list[Event]
