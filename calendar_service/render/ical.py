"""The calendar as an iCalendar subscription feed (RFC 5545, with RFC 7986 calendar properties).

`render_feed` is pure and deterministic: the same calendar, published state, filter and options give the
same bytes (there is no "now" in a feed; DTSTAMP is the event's LAST-MODIFIED). It writes content lines
itself rather than through icalendar's component tree: that keeps the bytes under our control (no
COMMENT in VTIMEZONE, no reordering) and renders a 10,000-event feed in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from calendar_service.core import certainty, timing
from calendar_service.core.calendar import Calendar, Event, series_master
from calendar_service.core.errors import ActionNotFound, FilterError
from calendar_service.core.filters import EventFilter, split_values
from calendar_service.core.history import steps, time_text
from calendar_service.core.model import Moment, Precision, Source, Status
from calendar_service.core.publication import Published, event_from_snapshot, initial_state, series_states
from calendar_service.core.timing import Duration, duration_text
from calendar_service.render.vtimezone import vtimezone_lines

PRODID = "-//Trade Calendar//trade-calendar 0.1//EN"
UID_DOMAIN = "trade-calendar"
MAX_ALARMS = 5
# A moment ("takes effect at 00:01") gets a 30-minute DTEND. A zero-length or one-minute event is a
# hairline in Outlook's and Google's day views, where the title cannot be read; 30 minutes is one row of
# their grid, enough for the title without suggesting the event lasts. TRANSP:TRANSPARENT keeps it (and
# every other event here) from blocking anyone's free/busy time.
MOMENT_LENGTH = dt.timedelta(minutes=30)
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"})

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # not allowed in TEXT (RFC 5545 §3.3.11)


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(value):
        value = _CONTROL.sub("", value)
    # Chained replace is several times faster than str.translate here; the backslash goes first.
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> bytes:
    """Encode a content line as UTF-8 folded at 75 octets, never inside a character (RFC 5545 §3.1)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return data
    parts = []
    pos, limit = 0, 75  # continuation lines start with a space, which counts
    while len(data) - pos > limit:
        cut = pos + limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: step back to the character start
            cut -= 1
        parts.append(data[pos:cut])
        pos, limit = cut, 74
    parts.append(data[pos:])
    return b"\r\n ".join(parts)


MAX_ALARM_DAYS = 366


def parse_alarms(values: Sequence[str]) -> tuple[Duration, ...]:
    """Read `?alarm=` values (how long before the event, e.g. P1D, PT2H), longest first, without repeats."""
    found: dict[tuple[int, int], Duration] = {}
    for text in split_values(values):
        try:
            duration = timing.parse_duration(text)
        except ValueError:
            raise FilterError(
                "alarm", text, "use an ISO 8601 duration saying how long before, e.g. P1D or PT2H"
            ) from None
        if duration.days < 0 or duration.seconds < 0:
            raise FilterError(
                "alarm", text, "give how long *before* the event as a positive duration, e.g. P1D"
            )
        # Calendar apps compute the alarm's instant; one centuries before the event is nobody's intent
        # and breaks some readers, so alarms keep to the range reminders use.
        if duration.days * 86400 + duration.seconds > MAX_ALARM_DAYS * 86400:
            raise FilterError("alarm", text[:64], f"an alarm is at most P{MAX_ALARM_DAYS}D before the event")
        found.setdefault((duration.days, duration.seconds), duration)
    if len(found) > MAX_ALARMS:
        raise FilterError("alarm", ",".join(values), f"at most {MAX_ALARMS} alarms per feed")
    return tuple(found[key] for key in sorted(found, reverse=True))


def render_feed(
    calendar: Calendar,
    published: Mapping[str, Published],
    event_filter: EventFilter,
    *,
    alarms: Sequence[Duration] = (),
    refresh: str = "PT1H",
    feed_url: str | None = None,
    event_base: str | None = None,
) -> bytes:
    """The feed of the events `event_filter` lets through, tombstones included, as iCalendar bytes.

    With `event_base` (the site's public address), each event's URL is its page there, else its first
    source's address.
    """
    # Events no reconcile has seen yet (the caller skipped it) are dated by the data's review date, not
    # by the clock, so the output stays a function of the inputs.
    fallback = review_instant(calendar)
    items: list[tuple[Event, Published, bool]] = []
    series = series_states(calendar, published, fallback) if _has_series(calendar, published) else {}
    series_written: set[str] = set()
    for event in calendar.events:
        if event_filter.matches(event):
            if event.series is not None:
                # A repeating entry is one VEVENT with RRULE/EXDATE (the series' own id as its UID).
                if event.series not in series_written:
                    series_written.add(event.series)
                    items.append((series_master(event), series[event.series], False))
                continue
            state = published.get(event.id)
            if state is None or state.removed_at is not None:
                state = initial_state(event, fallback)
            items.append((event, state, False))
    for event_id in sorted(published):
        state = published[event_id]
        if state.removed_at is None or event_id in calendar:
            continue
        series_id = state.snapshot.get("series")
        if series_id is not None:
            # A dropped date of a series is an EXDATE or a shorter rule, not a VEVENT of its own; a
            # series with no date left is one cancelled VEVENT, announced by its first date's record.
            gone_series = series.get(series_id)
            if gone_series is None or gone_series.removed_at is None or series_id in series_written:
                continue
            series_written.add(series_id)
            gone = series_master(event_from_snapshot(gone_series.snapshot))
            if event_filter.matches(gone):
                items.append((gone, gone_series, True))
            continue
        gone = event_from_snapshot(state.snapshot)
        if event_filter.matches(gone):
            items.append((gone, state, True))

    body: list[str] = []
    zones: dict[str, tuple[int, int]] = {}
    for event, state, tombstone in items:
        page = f"{event_base}/events/{event.id}" if event_base else None
        body.extend(_event_lines(calendar, event, state, tombstone, alarms, zones, page))

    if not items:
        # RFC 5545 §3.6 wants at least one component in a VCALENDAR; a filter that matches nothing
        # (yet) still gets a valid feed: the calendar's own zone.
        zones[calendar.meta.timezone] = (calendar.meta.reviewed.year, calendar.meta.reviewed.year)
    lines = _header(calendar, event_filter, refresh, feed_url)
    for name in sorted(zones):
        first, last = zones[name]
        lines.extend(vtimezone_lines(name, first, last))
    lines.extend(body)
    return _encode(lines)


def render_event(
    calendar: Calendar,
    event: Event,
    state: Published,
    *,
    tombstone: bool = False,
    page_url: str | None = None,
) -> bytes:
    """One event as a calendar object of its own: the feed's VEVENT (same UID and SEQUENCE) and its zone.

    Adding this file and later subscribing to the feed updates the one event instead of duplicating it
    (RFC 5545 §3.8.4.7, §3.8.7.4). It is not a subscription, so it has no name or refresh interval.
    Give it what `feed_item` returns: for one date of a series, that is the whole series.
    """
    zones: dict[str, tuple[int, int]] = {}
    body = _event_lines(calendar, event, state, tombstone, (), zones, page_url)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    for name in sorted(zones):
        lines.extend(vtimezone_lines(name, *zones[name]))
    lines.extend(body)
    return _encode(lines)


def review_instant(calendar: Calendar) -> dt.datetime:
    """What dates an event no reconcile has seen yet: the data's review date (never the clock, so the
    output stays a function of the inputs)."""
    return dt.datetime.combine(calendar.meta.reviewed, dt.time(0), tzinfo=dt.UTC)


def feed_item(
    calendar: Calendar, published: Mapping[str, Published], event: Event
) -> tuple[Event, Published, bool]:
    """The VEVENT the feed writes for `event`: the event, its record and whether it is a tombstone.

    One date of a repeating entry is written as its whole series (the series' UID, RRULE, EXDATE and
    SEQUENCE), never as a VEVENT of its own: a calendar client that gets the series from a per-event
    file and again from the feed holds one object (same UID, no RECURRENCE-ID) and updates it in
    place. A lone RECURRENCE-ID instance would be an orphan exception that clients handle badly:
    Outlook maps none to an appointment of its own (MS-OXCICAL), CalDAV stores keep a UID in one
    resource, so the instance and the feed's master overwrite each other (etesync-web#67).
    """
    fallback = review_instant(calendar)
    if event.series is not None:
        states = series_states(calendar, published, fallback)
        state = states.get(event.series)
        if state is not None:
            master = series_master(event if event.id in calendar else _first_date(calendar, event))
            return master, state, state.removed_at is not None
    state = published.get(event.id)
    if state is None:
        state = initial_state(event, fallback)
    return event, state, state.removed_at is not None and event.id not in calendar


def _first_date(calendar: Calendar, event: Event) -> Event:
    """A live date of `event`'s series (a dropped date's file is the series as it now is)."""
    dates = calendar.occurrences(event.series or "")
    return dates[0] if dates else event


def _has_series(calendar: Calendar, published: Mapping[str, Published]) -> bool:
    return any(e.series is not None for e in calendar.events) or any(
        s.removed_at is not None and s.snapshot.get("series") for s in published.values()
    )


def _encode(lines: list[str]) -> bytes:
    lines.append("END:VCALENDAR")
    lines.append("")
    # Most lines are short ASCII and need no folding; encode the whole calendar once.
    return "\r\n".join(
        line if len(line) <= 75 and line.isascii() else fold(line).decode("utf-8") for line in lines
    ).encode("utf-8")


def _header(calendar: Calendar, event_filter: EventFilter, refresh: str, feed_url: str | None) -> list[str]:
    meta = calendar.meta
    name = meta.name
    description = meta.description or f"{meta.name}: trade-policy dates with their sources."
    query = event_filter.to_query()
    if query:
        selection = "; ".join(f"{key} {', '.join(values)}" for key, values in query.items())
        name = f"{name} ({selection})"
        description = f"{description}\nOnly events with {selection}."
    description += f"\nReport a wrong date: {meta.contact}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"NAME:{escape_text(name)}",  # RFC 7986 §5.1
        f"X-WR-CALNAME:{escape_text(name)}",  # what Google and Apple read
        f"DESCRIPTION:{escape_text(description)}",
        f"X-WR-CALDESC:{escape_text(description)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}",  # RFC 7986 §5.7
        f"X-PUBLISHED-TTL:{refresh}",  # Outlook's spelling of the same
    ]
    if feed_url:
        lines.append(f"SOURCE;VALUE=URI:{_uri(feed_url)}")  # RFC 7986 §5.8: where to refresh from
    return lines


def _event_lines(
    calendar: Calendar,
    event: Event,
    state: Published,
    tombstone: bool,
    alarms: Sequence[Duration],
    zones: dict[str, tuple[int, int]],
    page_url: str | None = None,
) -> list[str]:
    stamp = f"{state.last_modified.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    status, prefix = _status(event, tombstone)
    summary = prefix + event.title + _precision_suffix(event.precision)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.id}@{UID_DOMAIN}",  # RFC 5545 §3.8.4.7: persistent, so clients update in place
        # Without METHOD, DTSTAMP is when the information was last revised (RFC 5545 §3.8.7.2).
        f"DTSTAMP:{stamp}",
        f"LAST-MODIFIED:{stamp}",
        f"SEQUENCE:{state.sequence}",
    ]
    times = _times(event, zones)
    if event.rrule is not None:
        times = _series_times(event, times, zones)
        lines.extend(times)
        lines.extend(_recurrence_lines(event, times[0], zones))
    else:
        lines.extend(times)
    lines.append(f"SUMMARY:{escape_text(summary)}")
    lines.append(f"STATUS:{status}")
    lines.append("TRANSP:TRANSPARENT")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    url = page_url or next((source.url for source in event.sources if source.url), None)
    if url:
        lines.append(f"URL:{_uri(url)}")
    categories = dict.fromkeys([event.kind.value, *event.tags])
    lines.append("CATEGORIES:" + ",".join(escape_text(c) for c in categories))
    lines.append(f"DESCRIPTION:{escape_text(_description(calendar, event, tombstone))}")
    if status != "CANCELLED" and event.status is not Status.POSTPONED:
        for alarm in alarms:
            lines.extend(
                (
                    "BEGIN:VALARM",
                    "ACTION:DISPLAY",
                    f"TRIGGER:{_trigger(alarm)}",
                    f"DESCRIPTION:{escape_text(summary)}",
                    "END:VALARM",
                )
            )
    lines.append("END:VEVENT")
    return lines


def _status(event: Event, tombstone: bool) -> tuple[str, str]:
    """The STATUS value and a title prefix; clients that hide cancelled events still show the prefix."""
    if tombstone or event.status is Status.CANCELLED:
        return "CANCELLED", "Cancelled: "
    if event.status is Status.SUPERSEDED:
        return "CANCELLED", "Superseded: "
    if event.status is Status.POSTPONED:
        # The date no longer holds, but the event is still expected: keep it visible, flagged.
        return "TENTATIVE", "Postponed: "
    if certainty.recorded_unconfirmed(event):
        # Past, and no source says what happened: not a plain past event (core/certainty.py).
        return "TENTATIVE", certainty.UNCONFIRMED_PREFIX
    if event.status is Status.TENTATIVE or event.precision in (Precision.APPROXIMATE, Precision.TBA):
        return "TENTATIVE", ""
    return "CONFIRMED", ""


def _precision_suffix(precision: Precision) -> str:
    if precision is Precision.APPROXIMATE:
        return " (date approximate)"
    if precision is Precision.TBA:
        return " (date to be announced)"
    return ""


def _times(event: Event, zones: dict[str, tuple[int, int]]) -> list[str]:
    start, end = event.start, event.end
    if not isinstance(start, dt.datetime):
        # All-day: DATE values, DTEND exclusive (RFC 5545 §3.6.1).
        last = end if isinstance(end, dt.date) and not isinstance(end, dt.datetime) else None
        if last is None or last <= start:
            last = start + dt.timedelta(days=1)
        return [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{last:%Y%m%d}"]
    if end is None or not isinstance(end, dt.datetime) or end <= start:
        # A moment: same zone as the start, MOMENT_LENGTH of elapsed time later.
        end = (start.astimezone(dt.UTC) + MOMENT_LENGTH).astimezone(start.tzinfo)
    zone = start.tzinfo
    start = start.astimezone(dt.UTC).astimezone(zone)  # normalise the fold
    local_end = end.astimezone(zone)
    if _is_utc(start) or start.fold:
        # The second 01:30 of a fall-back night cannot be written as local time (RFC 5545 §3.3.5
        # reads it as the first one): write the instants in UTC.
        return [_utc_line("DTSTART", start), _utc_line("DTEND", end)]
    if local_end.utcoffset() == start.utcoffset():
        return [_local_line("DTSTART", start, zones), _local_line("DTEND", end, zones)]
    # A daylight-saving change falls between start and end. ical.js (Thunderbird's parser) ends a
    # zoned event at start + (DTEND - DTSTART) counted on the wall clock, an hour off here; a DURATION
    # would fix that but vobject ignores it. Written in UTC, both instants read the same everywhere
    # (clients show them in the reader's own zone anyway).
    return [_utc_line("DTSTART", start), _utc_line("DTEND", end)]


def _series_times(event: Event, times: list[str], zones: dict[str, tuple[int, int]]) -> list[str]:
    """A timed series repeats on its zone's wall clock only when DTSTART names the zone: a series whose
    first date `_times` wrote in UTC (its span crosses a clock change) is written with TZID after all."""
    start, end = event.start, event.end
    if not isinstance(start, dt.datetime) or ";TZID=" in times[0] or _is_utc(start) or start.fold:
        return times
    if not isinstance(end, dt.datetime) or end <= start:
        end = (start.astimezone(dt.UTC) + MOMENT_LENGTH).astimezone(start.tzinfo)
    return [_local_line("DTSTART", start, zones), _local_line("DTEND", end.astimezone(start.tzinfo), zones)]


def _recurrence_lines(event: Event, dtstart: str, zones: dict[str, tuple[int, int]]) -> list[str]:
    """RRULE as the curator wrote it, and each EXDATE in the same form as DTSTART (RFC 5545 §3.8.5.1)."""
    assert event.rrule is not None
    lines = [f"RRULE:{event.rrule.upper()}"]
    # The series as validated (from its first date): expanded from a later occurrence, a COUNT rule would
    # run past the dates the validator checked.
    dates = timing.expand_rule(event.series_start or event.start, event.rrule)
    start = event.start
    if isinstance(start, dt.datetime):
        key = getattr(start.tzinfo, "key", "")
        first, last = zones.get(key, (start.year, start.year))
        zones[key] = (first, max(last, dates[-1].year))  # VTIMEZONE rules for every occurrence
    if event.exdates:
        if not isinstance(start, dt.datetime):
            lines.append("EXDATE;VALUE=DATE:" + ",".join(f"{d:%Y%m%d}" for d in event.exdates))
        else:
            zone = start.tzinfo
            assert zone is not None
            clock = start.time()
            moments = [timing.local_instant(d, clock, zone) for d in event.exdates]
            if ";TZID=" in dtstart:
                stamps = ",".join(f"{m:%Y%m%dT%H%M%S}" for m in moments)
                lines.append(f"EXDATE;TZID={getattr(zone, 'key', '')}:{stamps}")
            else:
                lines.append("EXDATE:" + ",".join(f"{m.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}" for m in moments))
    return lines


def _is_utc(value: dt.datetime) -> bool:
    key = getattr(value.tzinfo, "key", None)
    return key is None or key in _UTC_NAMES


def _utc_line(name: str, value: dt.datetime) -> str:
    return f"{name}:{value.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _local_line(name: str, value: dt.datetime, zones: dict[str, tuple[int, int]]) -> str:
    local = value.astimezone(dt.UTC).astimezone(value.tzinfo)
    if _is_utc(local) or local.fold:
        return _utc_line(name, value)
    key = getattr(local.tzinfo, "key", "")
    first, last = zones.get(key, (local.year, local.year))
    zones[key] = (min(first, local.year), max(last, local.year))
    return f"{name};TZID={key}:{local:%Y%m%dT%H%M%S}"


def _trigger(alarm: Duration) -> str:
    if not alarm.days and not alarm.seconds:
        return "PT0S"
    return "-" + duration_text(alarm.days, alarm.seconds)


def _uri(url: str) -> str:
    # Percent-encode what a URI may not contain (spaces, non-ASCII); keep what is already encoded.
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def _description(calendar: Calendar, event: Event, tombstone: bool) -> str:
    """A plain-text account: the notice, the facts, what changed, and the sources."""
    lines: list[str] = []
    if tombstone:
        lines.append("This event has been removed from the calendar; treat it as cancelled.")
    if event.status is Status.SUPERSEDED:
        lines.append(f"Superseded by: {_describe_other(calendar, event.superseded_by)}")
    elif event.status is Status.CANCELLED:
        lines.append("Cancelled.")
    elif event.status is Status.POSTPONED:
        lines.append("Postponed: no new date has been set yet.")
    elif certainty.recorded_unconfirmed(event):
        lines.append(certainty.unconfirmed_note(event))
    if event.precision is Precision.APPROXIMATE:
        lines.append("Date approximate: the sources do not pin down the exact day.")
    elif event.precision is Precision.TBA:
        lines.append("Date to be announced: the day shown is a placeholder.")
    if lines:
        lines.append("")
    if event.description:
        lines.extend((event.description.strip(), ""))
    facts = [
        ("Kind", event.kind.value),
        ("Countries", ", ".join(event.countries)),
        ("Importance", event.importance.value),
        ("Authority", event.authority.value if event.authority else None),
        ("Action", _action_title(calendar, event.action)),
        ("Instrument", event.instrument),
        ("HS scope", ", ".join(event.hs) if event.hs else None),
        ("US chapter 99", ", ".join(event.chapter99) if event.chapter99 else None),
    ]
    lines.extend(f"{label}: {value}" for label, value in facts if value)
    if event.history:
        lines.extend(("", "Changes:"))
        for step in steps(event, calendar.meta.timezone):
            change = step.change
            text = f"- {change.changed.isoformat()} {change.kind}"
            if change.was is not None and step.before is not None and step.after is not None:
                was = time_text(step.before) + _describe_end(change.was)
                now = time_text(step.after) + _describe_end(step.after_was)
                text += f"; was {was} → now {now}"
            if change.was_status is not None:
                text += f"; status before: {change.was_status.value}"
            if change.note:
                text += f" — {change.note}"
            if change.source is not None:
                text += f" ({_describe_source(change.source)})"
            lines.append(text)
    lines.extend(("", "Sources:"))
    lines.extend(f"- {_describe_source(source)}" for source in event.sources)
    if event.verified:
        lines.append(f"Last verified: {event.verified.isoformat()}")
    return "\n".join(lines)


def _action_title(calendar: Calendar, action_id: str | None) -> str | None:
    if action_id is None:
        return None
    try:
        return f"{calendar.action(action_id).title} ({action_id})"
    except ActionNotFound:  # a tombstone may name an action the data no longer has
        return action_id


def _describe_other(calendar: Calendar, event_id: str | None) -> str:
    if event_id is None:
        return "a later decision (see the sources)"
    if event_id not in calendar:
        return event_id
    other = calendar.get(event_id)
    start = other.start
    when = start.strftime("%Y-%m-%d %H:%M %Z") if isinstance(start, dt.datetime) else start.isoformat()
    return f"{other.title} ({when}; {event_id})"


def _describe_end(was: Moment | None) -> str:
    """The end a history entry records with its earlier time, as written ("" when it gives none)."""
    if was is None or not (was.end_date or was.end_time):
        return ""
    return " to " + " ".join(part for part in (str(was.end_date or ""), was.end_time or "") if part)


def _describe_source(source: Source) -> str:
    details = ", ".join(str(part) for part in (source.publisher, source.date) if part)
    text = source.title + (f" — {details}" if details else "")
    return text + (f" <{source.url}>" if source.url else "")
