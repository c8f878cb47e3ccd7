""" "Add to Google Calendar" and "Add to Outlook" links for one event.

Google documents its template link (action=TEMPLATE, text, dates as UTC `YYYYMMDDTHHMMSSZ/…` or
all-day `YYYYMMDD/YYYYMMDD` with the end exclusive, details, location, ctz) in its event publisher
guide. Outlook's compose deep link (subject, startdt, enddt as ISO 8601, allday, body, location) is the
one Outlook on the web answers; Microsoft does not publish a reference for it, so the per-event .ics is
offered next to it.

A repeating entry is added as its whole series, as the feed and the per-event .ics have it. Google's
template takes the recurrence in `recur` (an RFC 5545 RRULE or RDATE line; documented by users of the
link, not by Google): the series' RRULE when no date is excluded, else an RDATE of every date after
the first, since no source shows it taking EXDATE and a rule without its exceptions would add dates
that do not exist. Outlook's compose link has no recurrence, so a series gets no Outlook link (the
.ics file is for Outlook).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from urllib.parse import urlencode

from calendar_service.core import timing
from calendar_service.core.calendar import Event, series_master
from calendar_service.render.ical import MOMENT_LENGTH

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose"


def _bounds(event: Event) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime]:
    """Start and end as the feed writes them: a moment lasts MOMENT_LENGTH, an all-day end is exclusive."""
    start, end = event.start, event.end
    if isinstance(start, dt.datetime):
        if not isinstance(end, dt.datetime) or end <= start:
            end = start + MOMENT_LENGTH
        return start, end
    if end is None or isinstance(end, dt.datetime) or end <= start:
        end = start + dt.timedelta(days=1)
    return start, end


def google_link(event: Event, details: str) -> str:
    """Google Calendar's "create event" template filled with this event (a series: all its dates)."""
    recur = None
    rule = event.rrule
    if rule is not None:
        event = series_master(event)
        if event.exdates:
            dates = timing.expand_rule(event.start, rule, event.exdates)
            event = _moved_to(event, dates[0])
            recur = _rdate(dates[1:]) if len(dates) > 1 else None
        else:
            recur = f"RRULE:{rule.upper()}"
    start, end = _bounds(event)
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        dates_text = f"{_utc(start)}/{_utc(end)}"
    else:
        dates_text = f"{start:%Y%m%d}/{end:%Y%m%d}"
    params = [("action", "TEMPLATE"), ("text", event.title), ("dates", dates_text), ("details", details)]
    if recur is not None:
        params.append(("recur", recur))
    if event.location:
        params.append(("location", event.location))
    if event.tz:
        params.append(("ctz", event.tz))  # the zone a timed rule repeats in (its wall clock)
    return f"{GOOGLE}?{urlencode(params)}"


def _utc(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _moved_to(event: Event, first: dt.date | dt.datetime) -> Event:
    """The series starting at its first date that happens (DTSTART itself may be an EXDATE)."""
    end = None if event.end is None else first + (event.end - event.start)
    return replace(event, start=first, end=end)


def _rdate(dates: list[dt.date | dt.datetime]) -> str:
    if dates and isinstance(dates[0], dt.datetime):
        return "RDATE:" + ",".join(_utc(d) for d in dates if isinstance(d, dt.datetime))
    return "RDATE;VALUE=DATE:" + ",".join(f"{d:%Y%m%d}" for d in dates)


def outlook_link(event: Event, details: str) -> str | None:
    """Outlook on the web's compose form filled with this event; None for a series (no recurrence)."""
    if event.rrule is not None:
        return None
    start, end = _bounds(event)
    all_day = not isinstance(start, dt.datetime)
    params = [
        ("path", "/calendar/action/compose"),
        ("rru", "addevent"),
        ("subject", event.title),
        ("startdt", start.isoformat()),
        ("enddt", end.isoformat()),
        ("allday", "true" if all_day else "false"),
        ("body", details),
    ]
    if event.location:
        params.append(("location", event.location))
    return f"{OUTLOOK}?{urlencode(params)}"
