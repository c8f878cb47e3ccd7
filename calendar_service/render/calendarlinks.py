""" "Add to Google Calendar" and "Add to Outlook" links for one event.

Google documents its template link (action=TEMPLATE, text, dates as UTC `YYYYMMDDTHHMMSSZ/…` or
all-day `YYYYMMDD/YYYYMMDD` with the end exclusive, details, location, ctz) in its event publisher
guide. Outlook's compose deep link (subject, startdt, enddt as ISO 8601, allday, body, location) is the
one Outlook on the web answers; Microsoft does not publish a reference for it, so the per-event .ics is
offered next to it.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from calendar_service.core.calendar import Event
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
    """Google Calendar's "create event" template filled with this event."""
    start, end = _bounds(event)
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        dates = f"{start.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}/{end.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    else:
        dates = f"{start:%Y%m%d}/{end:%Y%m%d}"
    params = [("action", "TEMPLATE"), ("text", event.title), ("dates", dates), ("details", details)]
    if event.location:
        params.append(("location", event.location))
    if event.tz:
        params.append(("ctz", event.tz))
    return f"{GOOGLE}?{urlencode(params)}"


def outlook_link(event: Event, details: str) -> str:
    """Outlook on the web's compose form filled with this event."""
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
