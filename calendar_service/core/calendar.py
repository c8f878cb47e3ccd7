"""The calendar as the rest of the service sees it: resolved events with real instants.

`datafile.load_calendar` reads and validates a file (see `validation/`) and returns a `Calendar` built
from the types here; nothing here knows about the web, the database or the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from calendar_service.core import model, timing
from calendar_service.core.errors import ActionNotFound, EventNotFound
from calendar_service.core.model import Anchor, Authority, Importance, Kind, Precision, Status


@dataclass(frozen=True, slots=True)
class Event:
    """One event with its times resolved.

    All-day events have `start`/`end` as dates, `end` exclusive (RFC 5545 DTEND). Timed events have
    aware datetimes in their own zone; `end` is None for a moment ("takes effect at 00:01").
    """

    id: str
    title: str
    kind: Kind
    status: Status
    countries: tuple[str, ...]
    importance: Importance
    tags: tuple[str, ...]
    action: str | None
    related: tuple[str, ...]
    authority: Authority | None
    hs: tuple[str, ...]
    instrument: str | None
    location: str | None
    description: str | None
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None
    tz: str | None
    precision: Precision
    deadline: Anchor | None
    deadline_at: dt.datetime | None
    superseded_by: str | None
    history: tuple[model.Change, ...]
    verified: dt.date | None
    sources: tuple[model.Source, ...]
    line: int = 0
    chapter99: tuple[str, ...] = ()  # US 9903.xx.xx headings (or ranges), apart from the HS product codes
    # For whole-day events: the zone the days are read in and which moment of the deadline day counts
    # (None for timed events, whose `tz` says it all).
    day_tz: str | None = None
    day_moment: model.DayMoment | None = None
    # One occurrence of a repeating entry (`repeat:`): the entry's id, its rule, exceptions and first date.
    series: str | None = None
    rrule: str | None = None
    exdates: tuple[dt.date, ...] = ()
    series_start: dt.date | dt.datetime | None = None
    # `unconfirmed`: the date passed and a curator found no source saying what happened (core/certainty.py).
    outcome: model.Outcome | None = None

    @property
    def deadline_day(self) -> dt.date | None:
        """For a whole-day deadline, the day it falls on (`deadline_at` is that day's start or end)."""
        if self.deadline_at is None or self.day_moment is None or self.day_tz is None:
            return None
        local = self.deadline_at.astimezone(timing.zone(self.day_tz))
        return local.date() - dt.timedelta(days=1) if self.day_moment is model.DayMoment.END else local.date()

    @property
    def deadline_shown(self) -> dt.date | None:
        """The day a reader is shown for the deadline: a whole-day deadline's own date, else the local
        date of its instant in the zone of the time it is anchored to."""
        if self.deadline_at is None:
            return None
        day = self.deadline_day
        if day is not None:
            return day
        moment = self.end if self.deadline is Anchor.END and isinstance(self.end, dt.datetime) else self.start
        zone = moment.tzinfo if isinstance(moment, dt.datetime) else None
        return self.deadline_at.astimezone(zone).date() if zone is not None else self.deadline_at.date()

    @property
    def all_day(self) -> bool:
        """Whether the event is a date (or span of dates) rather than a clock time."""
        return not isinstance(self.start, dt.datetime)

    @property
    def is_live(self) -> bool:
        """Whether the event still stands (not cancelled or superseded)."""
        return self.status not in (Status.CANCELLED, Status.SUPERSEDED)

    def start_utc(self, default_tz: dt.tzinfo) -> dt.datetime:
        """The start as a UTC instant; all-day dates begin at midnight in the event's own day zone
        (`day_tz`), or in `default_tz` for an event that has none (an old snapshot)."""
        return _instant(self.start, self.day_zone(default_tz))

    def end_utc(self, default_tz: dt.tzinfo) -> dt.datetime | None:
        """The end as a UTC instant (an all-day end: the midnight after its last day); None for a moment."""
        return None if self.end is None else _instant(self.end, self.day_zone(default_tz))

    def day_zone(self, default_tz: dt.tzinfo) -> dt.tzinfo:
        """The zone the event's days are read in: its own `day_tz` if whole-day, else `default_tz`."""
        return timing.zone(self.day_tz) if self.day_tz is not None else default_tz

    @property
    def first_day(self) -> dt.date:
        """The first day the event is on, as its reader is shown it (a timed event: in its own zone)."""
        return self.start.date() if isinstance(self.start, dt.datetime) else self.start

    @property
    def last_day(self) -> dt.date:
        """The last day the event is on: an all-day end is exclusive, and a timed end at midnight
        ends the day before (a moment's last day is its first)."""
        end = self.end
        if end is None:
            return self.first_day
        if isinstance(end, dt.datetime):
            local = end.astimezone(self.start.tzinfo) if isinstance(self.start, dt.datetime) else end
            day = local.date()
            if local.time() == dt.time(0) and day > self.first_day:
                day -= dt.timedelta(days=1)
            return day
        return max(end - dt.timedelta(days=1), self.first_day)


def series_master(occurrence: Event) -> Event:
    """A repeating entry as one event (what the feed writes as one VEVENT with RRULE/EXDATE): the
    series' id, its first date (DTSTART) as the start, the occurrence's length, every other field
    shared. It has no deadline instant of its own: each date has one (`Calendar.occurrences`)."""
    if occurrence.series is None or occurrence.series_start is None:
        return occurrence
    first = occurrence.series_start
    end = None if occurrence.end is None else first + (occurrence.end - occurrence.start)
    return replace(occurrence, id=occurrence.series, start=first, end=end, deadline_at=None)


def earlier_start(was: model.Moment, event: Event, default_tz: str) -> dt.date | dt.datetime:
    """The start a history entry says the event had before: a date, or an aware time in its zone.

    A clock time without a zone is read in the event's zone (else the calendar's), as curators write it.
    """
    if was.time is None:
        return was.date
    zone_name = was.tz or event.tz or default_tz
    return timing.local_instant(was.date, timing.parse_clock(was.time), timing.zone(zone_name))


def _instant(value: dt.date | dt.datetime, default_tz: dt.tzinfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.combine(value, dt.time(0), tzinfo=default_tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class Calendar:
    """A validated, resolved calendar: one version of the data."""

    meta: model.CalendarMeta
    events: tuple[Event, ...]
    version: str
    path: str = ""
    _by_id: Mapping[str, Event] = field(default_factory=dict, repr=False, compare=False)
    actions: tuple[model.Action, ...] = ()  # in file order; events name them in `action:`
    _actions_by_id: Mapping[str, model.Action] = field(default_factory=dict, repr=False, compare=False)
    _series: Mapping[str, tuple[Event, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {event.id: event for event in self.events})
        series: dict[str, list[Event]] = {}
        for event in self.events:
            if event.series is not None:
                series.setdefault(event.series, []).append(event)
        ordered = {
            key: tuple(sorted(dates, key=lambda e: _as_date(e.start))) for key, dates in series.items()
        }
        object.__setattr__(self, "_series", ordered)
        object.__setattr__(self, "_actions_by_id", {action.id: action for action in self.actions})

    def action(self, action_id: str) -> model.Action:
        """The action with `action_id`; ActionNotFound otherwise."""
        try:
            return self._actions_by_id[action_id]
        except KeyError:
            raise ActionNotFound(action_id) from None

    def events_of(self, action_id: str) -> tuple[Event, ...]:
        """The dated events of one action, in time order (ActionNotFound for an unknown id)."""
        self.action(action_id)
        return tuple(event for event in self.events if event.action == action_id)

    @property
    def tz(self) -> dt.tzinfo:
        """The calendar's default zone, in which all-day dates begin."""
        return timing.zone(self.meta.timezone)

    def occurrences(self, series_id: str) -> tuple[Event, ...]:
        """The dates of a repeating entry (`repeat:`) in time order; empty when `series_id` is none."""
        return self._series.get(series_id, ())

    def get(self, event_id: str) -> Event:
        """The event with `event_id`; EventNotFound otherwise."""
        try:
            return self._by_id[event_id]
        except KeyError:
            raise EventNotFound(event_id) from None

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._by_id

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


def content_version(raw: bytes) -> str:
    """A short, stable version id for the bytes of a data file."""
    return hashlib.sha256(raw).hexdigest()[:16]


# --- resolution -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found while resolving times: which event, which field, what is wrong."""

    index: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class _Times:
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None
    tz: str | None


def resolve_events(
    events: Sequence[model.Event], default_tz: str, lines: Sequence[int] | None = None
) -> tuple[list[Event], list[Issue]]:
    """Compute every event's instants, following `after:` references; report what cannot be resolved."""
    index_of = {event.id: i for i, event in enumerate(events)}
    issues: list[Issue] = []
    resolved: dict[int, _Times | None] = {}
    visiting: set[int] = set()

    def resolve(i: int, chain: tuple[str, ...]) -> _Times | None:
        if i in resolved:
            return resolved[i]
        event = events[i]
        if i in visiting:
            cycle = " → ".join((*chain, event.id))
            issues.append(
                Issue(i, "after", f"derived times form a cycle: {cycle} — anchor one of them to a date")
            )
            resolved[i] = None
            return None
        visiting.add(i)
        times = _resolve_one(i, event, default_tz, index_of, lambda j: resolve(j, (*chain, event.id)), issues)
        visiting.discard(i)
        if i not in resolved:  # a cycle through this event already recorded None
            resolved[i] = times
        return resolved[i]

    for i in range(len(events)):
        resolve(i, ())

    out: list[Event] = []
    for i, event in enumerate(events):
        times = resolved.get(i)
        if times is None:
            continue
        line = lines[i] if lines else 0
        if event.repeat is None:
            out.append(_build(event, times, default_tz, line))
            continue
        if event.after is not None:
            issues.append(Issue(i, "after", "`repeat` on a derived date — give the first date as `date:`"))
            continue
        try:
            out.extend(_occurrences(event, times, default_tz, line))
        except _StrayExdate as exc:
            issues.append(Issue(i, f"repeat.exdate.{exc.index}", str(exc)))
        except ValueError as exc:
            issues.append(Issue(i, "repeat.rrule", str(exc)))
    return out, issues


class _StrayExdate(ValueError):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def _occurrences(event: model.Event, times: _Times, default_tz: str, line: int) -> list[Event]:
    """One Event per date of a repeating entry, id `<id>-YYYY-MM-DD`, each with its own deadline.

    Every occurrence keeps the series' id, rule and exceptions (`series`, `rrule`, `exdates`) so the feed
    writes the series once with RRULE/EXDATE while the API, `upcoming` and reminders see each date.
    """
    assert event.repeat is not None
    dates = timing.expand_rule(times.start, event.repeat.rrule, event.repeat.exdate)
    given = {_as_date(d) for d in timing.expand_rule(times.start, event.repeat.rrule)}
    first = _as_date(times.start)
    if first not in given:
        # RFC 5545 §3.8.5.3: a DTSTART the rule does not give makes the set undefined; calendar apps
        # show it as a date anyway while the rule's expansion (and so the API) would not.
        raise ValueError(
            f"the rule does not give the entry's own date {first} ({first:%A}) — make `date:` the "
            "first date the rule gives, or change the rule (e.g. its BYDAY)"
        )
    for index, day in enumerate(event.repeat.exdate):
        if day not in given:
            message = f"exdate {day} is not a date the rule gives — remove it or fix the rule"
            raise _StrayExdate(index, message)
    out = []
    for occurrence in dates:
        end = None if times.end is None else occurrence + (times.end - times.start)
        built = _build(event, _Times(occurrence, end, times.tz), default_tz, line)
        out.append(
            replace(
                built,
                id=f"{event.id}-{_as_date(occurrence):%Y-%m-%d}",
                series=event.id,
                rrule=event.repeat.rrule,
                exdates=tuple(event.repeat.exdate),
                series_start=times.start,
            )
        )
    return out


def _resolve_one(
    i: int,
    event: model.Event,
    default_tz: str,
    index_of: Mapping[str, int],
    resolve_ref: Callable[[int], _Times | None],
    issues: list[Issue],
) -> _Times | None:
    tz_name = event.tz or (default_tz if event.time else None)
    try:
        tz = timing.zone(tz_name) if tz_name else None
    except ValueError as exc:
        issues.append(Issue(i, "tz", str(exc)))
        return None
    if event.day_tz is not None:
        try:
            timing.zone(event.day_tz)
        except ValueError as exc:
            issues.append(Issue(i, "day_tz", str(exc)))
            return None

    start: dt.date | dt.datetime
    if event.after is not None:
        ref = index_of.get(event.after.event)
        if ref is None:
            issues.append(
                Issue(i, "after", f"after.event {event.after.event!r} is not an event id in this file")
            )
            return None
        anchor_times = resolve_ref(ref)
        if anchor_times is None:
            return None
        base = anchor_times.start if event.after.anchor is Anchor.START else anchor_times.end
        if base is None:
            issues.append(
                Issue(i, "after", f"{event.after.event!r} has no end to count from — use anchor: start")
            )
            return None
        moved = timing.shift(base, timing.parse_duration(event.after.offset))
        if event.time is not None and tz is not None:
            day = moved.date() if isinstance(moved, dt.datetime) else moved
            start = timing.local_instant(day, timing.parse_clock(event.time), tz)
        else:
            start = moved
            if isinstance(moved, dt.datetime) and moved.tzinfo is not None:
                tz_name = getattr(moved.tzinfo, "key", tz_name)
    elif event.date is not None:
        start = (
            timing.local_instant(event.date, timing.parse_clock(event.time), tz)
            if event.time is not None and tz is not None
            else event.date
        )
    else:
        issues.append(
            Issue(i, "date", "missing `date` — give the date, or `after:` to derive it from another event")
        )
        return None

    end = _resolve_end(i, event, start, tz, issues)
    if end is _FAILED:
        return None
    assert not isinstance(end, _Failed)
    # An all-day end is exclusive, so it must come after the start; a timed end may equal it.
    if end is not None and (
        _compare_key(end) < _compare_key(start) or (not isinstance(end, dt.datetime) and end <= start)
    ):
        field = "end_time" if event.end_time else "end_date" if event.end_date else "duration"
        issues.append(Issue(i, field, _end_before_start(start, end, field)))
        return None
    return _Times(start, end, tz_name if isinstance(start, dt.datetime) else None)


class _Failed:
    pass


_FAILED = _Failed()


def _resolve_end(
    i: int, event: model.Event, start: dt.date | dt.datetime, tz: dt.tzinfo | None, issues: list[Issue]
) -> dt.date | dt.datetime | _Failed | None:
    if event.duration is not None:
        end = timing.shift(start, timing.parse_duration(event.duration))
        return end
    if event.end_date is None and event.end_time is None:
        return start + dt.timedelta(days=1) if not isinstance(start, dt.datetime) else None
    if isinstance(start, dt.datetime):
        end_day = event.end_date or start.date()
        try:
            end_tz = timing.zone(event.end_tz) if event.end_tz else (start.tzinfo or dt.UTC)
        except ValueError as exc:
            issues.append(Issue(i, "end_tz", str(exc)))
            return _FAILED
        if event.end_time is None:
            issues.append(Issue(i, "end_date", "a timed event's end needs `end_time` as well as `end_date`"))
            return _FAILED
        return timing.local_instant(end_day, timing.parse_clock(event.end_time), end_tz)
    if event.end_time is not None:
        issues.append(
            Issue(i, "end_time", "`end_time` on an all-day event — add `time` to the start or drop it")
        )
        return _FAILED
    assert event.end_date is not None
    return event.end_date + dt.timedelta(days=1)  # inclusive last day → exclusive DTEND


def _end_before_start(start: dt.date | dt.datetime, end: dt.date | dt.datetime, field: str) -> str:
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        said = f"{end:%Y-%m-%d %H:%M} {getattr(end.tzinfo, 'key', '')}".rstrip()
        began = f"{start:%Y-%m-%d %H:%M} {getattr(start.tzinfo, 'key', '')}".rstrip()
    else:
        said = f"{_as_date(end) - dt.timedelta(days=1)}" if field == "end_date" else f"{_as_date(end)}"
        began = f"{_as_date(start)}"
    return f"the end ({said}) is before the start ({began}) — fix `{field}` or the start"


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _compare_key(value: dt.date | dt.datetime) -> tuple[dt.date, dt.datetime]:
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC).date(), value.astimezone(dt.UTC))
    return (value, dt.datetime.combine(value, dt.time(0), tzinfo=dt.UTC))


def _build(event: model.Event, times: _Times, default_tz: str, line: int) -> Event:
    timed = isinstance(times.start, dt.datetime)
    deadline = _deadline_anchor(event)
    precision = event.precision or (Precision.EXACT if timed else Precision.DAY)
    deadline_at: dt.datetime | None = None
    day_tz = day_moment = None
    if not timed:
        day_tz = event.day_tz or model.COUNTRY_ZONES.get(event.countries[0], default_tz)
        day_moment = event.day_moment or model.DAY_MOMENT_DEFAULTS.get(event.kind, model.DayMoment.START)
    if deadline is not None and day_tz is not None and day_moment is not None:
        deadline_at = whole_day_instant(times.start, times.end, deadline, day_moment, day_tz)
    elif deadline is not None:
        moment = times.start if deadline is Anchor.START else (times.end or times.start)
        deadline_at = _instant(moment, timing.zone(default_tz))
    return Event(
        id=event.id,
        title=event.title,
        kind=event.kind,
        status=event.status,
        countries=tuple(event.countries),
        importance=event.importance,
        tags=tuple(event.tags),
        action=event.action,
        related=tuple(event.related),
        authority=event.authority,
        hs=tuple(event.hs),
        instrument=event.instrument,
        location=event.location,
        description=event.description,
        start=times.start,
        end=times.end,
        tz=times.tz,
        precision=precision,
        deadline=deadline,
        deadline_at=deadline_at,
        superseded_by=event.superseded_by,
        history=tuple(event.history),
        verified=event.verified,
        sources=tuple(event.sources),
        line=line,
        chapter99=tuple(event.chapter99),
        day_tz=day_tz,
        day_moment=day_moment,
        outcome=event.outcome,
    )


def whole_day_instant(
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime | None,
    anchor: Anchor,
    moment: model.DayMoment,
    zone_name: str,
) -> dt.datetime:
    """The instant a whole-day deadline means: the start or the end of its day (the first day for
    anchor start, the last for anchor end), in `zone_name`. The end of a day is the midnight after it."""
    first = start.date() if isinstance(start, dt.datetime) else start
    last = (end.date() if isinstance(end, dt.datetime) else end) - dt.timedelta(days=1) if end else first
    day = first if anchor is Anchor.START else last
    if moment is model.DayMoment.END:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=timing.zone(zone_name)).astimezone(dt.UTC)


def _deadline_anchor(event: model.Event) -> Anchor | None:
    if event.deadline == "none":
        return None
    if isinstance(event.deadline, Anchor):
        return event.deadline
    return model.DEADLINE_DEFAULTS.get(event.kind, Anchor.START)
