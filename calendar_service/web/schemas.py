"""Pydantic models of the API's queries and responses: the one source of `/openapi.json`.

Every JSON response is validated against its model before it is sent (`openapi.respond`), so the
document cannot drift from what the service answers.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from calendar_service.core.model import Authority, Importance, Kind, Status

# Strings that hold times carry their JSON Schema `format`, so generated clients type them (OpenAPI 3.1
# uses JSON Schema 2020-12's formats: RFC 3339 date-time and full-date, ISO 8601 duration).
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Period = Annotated[str, Field(json_schema_extra={"format": "duration"})]
DayOrInstant = Annotated[
    str, Field(json_schema_extra={"anyOf": [{"format": "date"}, {"format": "date-time"}]})
]
ClockTime = Annotated[str, Field(pattern=r"^[0-9]{2}:[0-9]{2}$", description="Local clock time HH:MM")]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Moment(_Out):
    """A time as local ISO 8601 with offset, its IANA zone and UTC."""

    local: Instant = Field(description="ISO 8601 local time with UTC offset")
    zone: str = Field(description="IANA time zone of `local`")
    utc: Instant = Field(description="The same instant in UTC, ending in Z")
    all_day: bool
    date: Day | None = Field(None, description="For all-day items: the date (an end date is exclusive)")
    moment: Literal["start", "end"] | None = Field(
        None, description="For a whole-day deadline: whether the day's start or its end counts"
    )


class SourceOut(_Out):
    """A document that states the date."""

    title: str
    publisher: str | None = None
    date: Day | None = None
    url: str | None = None


class EarlierTime(_Out):
    """A time an event had before it changed: as written (date, time, tz) and the instant it meant."""

    date: Day
    time: ClockTime | None = None
    tz: str | None = None
    end_date: Day | None = None
    end_time: ClockTime | None = None
    end_tz: str | None = None
    local: Instant | None = Field(None, description="ISO 8601 local time with UTC offset (all-day: midnight)")
    zone: str | None = Field(None, description="IANA time zone of `local`")
    utc: Instant | None = Field(None, description="The same instant in UTC, ending in Z")
    all_day: bool | None = None


class ChangeOut(_Out):
    """One recorded change of an event."""

    changed: Day = Field(description="Date the change was announced")
    kind: Literal["rescheduled", "cancelled", "superseded", "postponed", "corrected", "confirmed"]
    was: EarlierTime | None = None
    was_status: str | None = None
    note: str | None = None
    source: SourceOut | None = None


class EventOut(_Out):
    """One event."""

    id: str
    title: str
    kind: str
    status: str
    countries: list[str]
    importance: str
    tags: list[str]
    action: str | None
    related: list[str]
    authority: str | None
    hs: list[str] = Field(description="HS product codes in scope (digits; chapters, headings, subheadings)")
    chapter99: list[str] = Field(
        default_factory=list, description="US HTSUS chapter 99 headings (9903.xx.xx, or a range a-b)"
    )
    series: str | None = Field(None, description="For one date of a repeating entry: the entry's id")
    rrule: str | None = Field(None, description="The series' RFC 5545 RRULE (its first date is the DTSTART)")
    exdate: list[str] = Field(default_factory=list, description="Dates the rule skips (EXDATE)")
    instrument: str | None
    location: str | None
    description: str | None
    start: Moment
    end: Moment | None = Field(description="Exclusive for all-day items; null for a point in time")
    precision: str
    deadline: Moment | None
    superseded_by: str | None
    outcome: Literal["unconfirmed"] | None = Field(
        None,
        description="`unconfirmed`: a curator recorded that the date passed and no source says what happened",
    )
    unconfirmed: bool = Field(
        False,
        description="Date passed, outcome not confirmed: a tentative event whose time is over, recorded or "
        "not (as of this answer)",
    )
    unconfirmed_note: str | None = Field(None, description="The same said in a sentence, for display")
    sources: list[SourceOut]
    history: list[ChangeOut]
    verified: Day | None = Field(
        description="The day a curator last re-read the sources and found they state the entry as written"
    )
    feed_sequence: int | None = Field(None, description="SEQUENCE of the event in the feeds (a series' own)")
    occurrences: list[EventOut] | None = Field(
        None, description="For a repeating entry's own id (the feed's UID of the series): each of its dates"
    )


class EventPage(_Out):
    """A page of events in time order."""

    items: list[EventOut]
    count: int = Field(description="Events on this page")
    total: int = Field(description="Events matching the query across all pages")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last")


class UpcomingDeadline(_Out):
    """A live deadline and how long remains until it."""

    event: EventOut
    deadline: Moment
    remaining: Period = Field(description="Time remaining as an ISO 8601 duration, e.g. P12DT3H20M")
    remaining_seconds: int


class UpcomingPage(_Out):
    """The next live deadlines within a window."""

    now: Instant
    within: Period
    items: list[UpcomingDeadline]


class ChangeEntry(_Out):
    """Something that moved, was cancelled or superseded."""

    event_id: str
    title: str
    change: str = Field(
        description="rescheduled, cancelled, superseded, postponed, corrected, removed, created, ..."
    )
    at: DayOrInstant = Field(
        description="When: the announcement date (history) or the instant it was observed"
    )
    origin: Literal["history", "observed"] = Field(
        description="history: recorded by a curator; observed: seen by this service between data versions"
    )
    note: str | None = None
    was: EarlierTime | None = None
    was_at: Moment | None = Field(None, description="The earlier start as an instant, where it is known")
    now_at: Moment | None = Field(None, description="The start that replaced it (null when unknown)")
    was_status: str | None = None
    status: str | None = Field(None, description="The event's status now (null once removed from the data)")
    start: Moment | None = None
    superseded_by: str | None = None
    sequence: int | None = None


class ChangesPage(_Out):
    """Changes since a moment, newest first."""

    since: Instant
    items: list[ChangeEntry]


class CalendarInfo(_Out):
    """What the calendar is and which version is served."""

    name: str
    description: str
    timezone: str
    contact: str
    url: str | None
    version: str
    reviewed: Day
    loaded_at: Instant
    events: int
    counts: dict[str, dict[str, int]] = Field(description="Events by kind and by status")


class ProblemOut(BaseModel):
    """An RFC 9457 problem."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    parameter: str | None = Field(None, description="The query parameter that was refused")


class FailedReload(_Out):
    """A refused edit of the data file."""

    at: Instant
    path: str
    errors: list[str] = Field(description="`file:line:col: error: ...` messages")


class DatabaseHealth(_Out):
    """Whether the database answered its last statement."""

    status: Literal["ok", "down"]
    error: str | None
    since: Instant | None


class ReminderHealth(_Out):
    """Whether reminders go out on time (only where `serve` runs the scheduler)."""

    status: Literal["ok", "failing", "stale"]
    oldest_due: Instant | None = Field(description="Due time of the earliest reminder overdue (when stale)")
    failed_wakeups: int
    failing_since: Instant | None
    last_error: str | None
    last_run: Instant | None


class HeldVersion(_Out):
    """A valid edit of the data file kept back because it removes or cancels too many events."""

    version: str
    sha256: str = Field(description="The file's content hash, which `trade-calendar publish --confirm` names")
    since: Instant
    publishes_at: Instant = Field(description="When it is published if the file still holds it unchanged")
    removes: int = Field(description="Live events it would remove, cancel or supersede")
    of: int = Field(description="Live events served now")
    events: list[str] = Field(description="The first few of those events")
    message: str


class SourcesHealth(_Out):
    """The source watch, where it has run: each watch without a success for a day, and why."""

    status: Literal["ok", "stale"]
    watches: int
    stale: dict[str, str] = Field(description="Watch id → since when it has not succeeded, last error")


class Health(_Out):
    """The state of the live data."""

    status: Literal["ok", "degraded", "failing"]
    data_path: str
    data_version: str | None
    events: int
    last_reload: Instant | None
    last_check: Instant | None
    last_failed_reload: FailedReload | None
    held: HeldVersion | None = Field(
        default=None, description="An edit held back for a curator to confirm (not served, not announced)"
    )
    database: DatabaseHealth | None = None
    reminders: ReminderHealth | None = None
    sources: SourcesHealth | None = None
    down: dict[str, str] = Field(default_factory=dict, description="What is not working, and why")


class Ready(_Out):
    """Whether the service can serve."""

    ready: bool
    down: dict[str, str] | None = Field(default=None, description="What is not working (feeds still serve)")


# --- webhook subscriptions ---------------------------------------------------------------------------


class SubscriptionOut(_Out):
    """A webhook subscription as the API shows it (never with its secret)."""

    id: str
    url: str
    filter: dict[str, list[str]] = Field(
        description="The events it hears about, with the feed's filters: country, kind, tag, importance, "
        "status, authority, hs, action"
    )
    lead_times: list[Period] = Field(description="ISO 8601 durations before each deadline, e.g. P1D")
    format: Literal["standard", "slack", "teams"]
    digest: bool = Field(
        description="One message per due minute (and per data edit) listing its reminders, instead of one "
        "message per reminder; false by default"
    )
    enabled: bool
    disabled_reason: str | None = Field(description="Why deliveries stopped (paused, or failing endpoint)")
    failure_count: int = Field(description="Deliveries that failed in a row")
    previous_secret_expires_at: Instant | None = Field(
        default=None, description="After a secret rotation, when the old secret stops signing beside the new"
    )
    created_at: Instant
    updated_at: Instant


class SubscriptionCreated(SubscriptionOut):
    """A new subscription and its signing secret, shown this once."""

    secret: str = Field(description="Standard Webhooks signing secret (whsec_...); not shown again")


class SecretRotated(SubscriptionOut):
    """A subscription's new signing secret, shown this once; the old one signs too until the grace ends."""

    secret: str = Field(description="The new Standard Webhooks signing secret (whsec_...); not shown again")


class SubscriptionEnabled(SubscriptionOut):
    """A re-enabled subscription and why it had been disabled."""

    previous_disabled_reason: str | None


class SubscriptionList(_Out):
    """One page of subscriptions, oldest first."""

    subscriptions: list[SubscriptionOut]
    next: str | None = Field(
        default=None,
        description="Send this as `after` for the next page (also in the `Link: rel=next` header); null "
        "on the last page",
    )


class SubscriptionsQuery(BaseModel):
    """Which page of the subscription list."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=1000, description="Subscriptions per page, oldest first")
    after: str | None = Field(
        default=None,
        max_length=200,
        description="The `next` value of the previous page; leave out for the first page",
    )


class DigestMemberOut(_Out):
    """One reminder or change notice a digest carried."""

    id: str = Field(description="The member's own id (its webhook-id had it gone out alone)")
    type: str
    event_id: str


class DeliveryOut(_Out):
    """One delivery attempt."""

    webhook_id: str = Field(description="The message's webhook-id: the same on every retry")
    type: str = Field(
        description="reminder.due, reminder.digest, event.rescheduled, event.cancelled, event.created, "
        "event.digest, test"
    )
    event_id: str = Field(description="The event; empty for a digest (its members name theirs)")
    members: list[DigestMemberOut] | None = Field(
        description="For a digest: the reminders and notices it carried; null for a single message"
    )
    attempt: int
    at: Instant = Field(description="When the attempt started (UTC)")
    status: int | None = Field(description="HTTP status answered; null when no response came")
    latency_ms: int | None
    outcome: str = Field(description="delivered, retry (will be tried again) or failed")
    error: str | None
    late: bool = Field(description="The first attempt started well after the reminder's due time")


class DeliveryLog(_Out):
    """The delivery log, newest first."""

    deliveries: list[DeliveryOut]


class TestDelivery(_Out):
    """What sending a test message did (one attempt, no retries)."""

    webhook_id: str
    type: Literal["test"]
    at: Instant
    status: int | None
    latency_ms: float
    outcome: Literal["delivered", "retry", "failed"]
    error: str | None


# --- queries -----------------------------------------------------------------------------------------

_REPEAT = "repeatable or comma-separated"


def _enum_text(enum: type[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)


class FilterQuery(BaseModel):
    """The filters every feed and list takes.

    Values are checked against the vocabulary, not the data: a valid value no event has today gives an
    empty result (200), a malformed one a 400 naming the parameter. Parameters a route does not take
    are ignored and named in the `Trade-Calendar-Ignored` response header.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    country: list[str] = Field(
        default_factory=list,
        description=f"ISO 3166-1 alpha-2 code, EU, or * for events concerning every country ({_REPEAT})",
    )
    kind: list[str] = Field(default_factory=list, description=f"{_enum_text(Kind)} ({_REPEAT})")
    tag: list[str] = Field(
        default_factory=list, description=f"Tag: lowercase words joined by hyphens ({_REPEAT})"
    )
    importance: list[str] = Field(default_factory=list, description=f"{_enum_text(Importance)} ({_REPEAT})")
    status: list[str] = Field(default_factory=list, description=f"{_enum_text(Status)} ({_REPEAT})")
    authority: list[str] = Field(
        default_factory=list, description=f"Legal authority: {_enum_text(Authority)} ({_REPEAT})"
    )
    hs: list[str] = Field(
        default_factory=list,
        description="HS code of 2, 4, 6, 8, 9 or 10 digits, dots allowed (8542.31), covering the codes above "
        f"and below it; or a US chapter 99 heading (9903.01.25), finding events filed under it ({_REPEAT})",
    )
    action: list[str] = Field(
        default_factory=list, description=f"Action id grouping the dated events of one action ({_REPEAT})"
    )


class FeedQuery(FilterQuery):
    """Filters plus alarms for the iCalendar feed."""

    alarm: list[Period] = Field(default_factory=list, description="Add a VALARM this long before, e.g. P1D")


class EventsQuery(FilterQuery):
    """Filters, a time window, text search and paging."""

    from_: dt.date | dt.datetime | None = Field(
        None,
        alias="from",
        description="A date: events on that day or later, a day being as each event shows it (a "
        "whole-day event's own dates, a timed event's local date in its zone; a multi-day event counts "
        "while any of its days is left). An instant: events not over by then",
    )
    to: dt.date | dt.datetime | None = Field(
        None,
        description="A date: events that have begun by the end of that day (as each event shows its "
        "days). An instant: events starting at or before it",
    )
    q: str | None = Field(
        None, max_length=200, description="Words that must all appear in title, description, ..."
    )
    limit: int = Field(50, ge=1, le=500, description="Events per page")
    cursor: str | None = Field(None, max_length=200, description="`next_cursor` of the previous page")


class UpcomingQuery(FilterQuery):
    """Filters and a window."""

    within: Period = Field("P30D", description="How far ahead, as an ISO 8601 duration, e.g. P30D")
    limit: int = Field(50, ge=1, le=500)


class ChangesQuery(BaseModel):
    """Since when."""

    model_config = ConfigDict(extra="forbid")

    since: dt.date | dt.datetime = Field(description="Date or ISO 8601 instant; changes at or after it")
    limit: int = Field(200, ge=1, le=1000)


class DeliveriesQuery(BaseModel):
    """How much of the log."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=500, description="Attempts to show, newest first")
