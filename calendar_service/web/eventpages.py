"""One event's page (`/events/<id>`, its `.ics`), an action's page (`/actions/<action>`), and `/search`.

The id in the address is the one the data file and the feed's UID use, so a page's address never
changes. Anything that is not a known id gets the 404 page with a search box; an event removed from the
data answers 410 with what it was, for as long as the feed keeps its tombstone.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from calendar_service.adapters.live import Snapshot
from calendar_service.application.events import matches_text
from calendar_service.core.calendar import Event, series_master
from calendar_service.core.errors import ActionNotFound
from calendar_service.core.history import steps
from calendar_service.core.model import SLUG, Status
from calendar_service.core.publication import Published, event_from_snapshot
from calendar_service.core.timing import utc_text
from calendar_service.render.calendarlinks import google_link, outlook_link
from calendar_service.render.ical import feed_item, render_event
from calendar_service.render.timeline import (
    lanes_per_event,
    moment_label,
    render_svg,
    span_label,
    window_around,
)
from calendar_service.web import pagekit
from calendar_service.web.ignored import takes

bp = Blueprint("eventpages", __name__)

_SLUG = re.compile(SLUG)
ICS = "text/calendar; charset=utf-8"


def _is_id(value: str) -> bool:
    return len(value) <= 120 and _SLUG.match(value) is not None


@bp.get("/events/<path:event_id>")
@takes()
def event_page(event_id: str) -> Response:
    """The event's page (or, with `.ics`, its calendar file); 410 once removed, 404 when unknown."""
    snap = pagekit.snapshot()
    if snap is None:
        return pagekit.not_loaded()
    ics = event_id.endswith(".ics")
    key = event_id.removesuffix(".ics")
    if not _is_id(key):
        return pagekit.not_found("event", event_id, snap)
    calendar = snap.calendar
    state = snap.published.get(key)
    dates = calendar.occurrences(key)
    if key in calendar:
        event, gone = calendar.get(key), False
    elif dates:  # a repeating entry's own id: the series, as the feed has it
        event, gone, state = series_master(dates[0]), False, None
    elif state is not None and state.is_tombstone:
        event, gone = event_from_snapshot(state.snapshot), True
    else:
        return pagekit.not_found("event", event_id, snap)
    now = pagekit.now()
    page_url = f"{pagekit.base_url()}/events/{key}"
    if ics:
        return _event_ics(snap, dates[0] if dates else event, now)
    html = render_template("event.html", **_event_context(snap, event, state, gone, page_url, now))
    return pagekit.page(html, snap, now, status=410 if gone else 200)


def _event_ics(snap: Snapshot, event: Event, now: dt.datetime) -> Response:
    """The feed's own VEVENT for `event`: one date of a series gets the whole series."""
    item, state, tombstone = feed_item(snap.calendar, snap.published, event)
    page_url = f"{pagekit.base_url()}/events/{item.id}"
    body = render_event(snap.calendar, item, state, tombstone=tombstone, page_url=page_url)
    response = pagekit.page(body, snap, now, mimetype=ICS)
    response.headers["Content-Disposition"] = f'attachment; filename="{item.id}.ics"'
    return response


def _deadline(event: Event, now: dt.datetime) -> dict[str, str] | None:
    if event.deadline_at is None:
        return None
    zone = event.start.tzinfo if isinstance(event.start, dt.datetime) else None
    local = event.deadline_at.astimezone(zone) if zone else event.deadline_at
    anchor = event.deadline.value if event.deadline else "start"
    if zone is None and event.deadline_day is not None and event.day_moment is not None:
        # A whole day: its date, which moment of it counts, and the zone it is read in.
        moment = "end of " if event.day_moment.value == "end" else "start of "
        label = f"{moment}{moment_label(event.deadline_day)} ({event.day_tz})"
    elif zone is None and event.end is not None and anchor == "end":
        label = f"end of {moment_label(event.end, last_day=True)}"
    elif zone is None:
        label = moment_label(event.start)
    else:
        label = moment_label(local)
    return {
        "label": label,
        "utc": utc_text(event.deadline_at),
        "countdown": pagekit.countdown(event.deadline_at - now),
    }


def _notice(snap: Snapshot, event: Event, gone: bool, state: Published | None) -> dict[str, Any] | None:
    calendar = snap.calendar
    if gone and state is not None and state.removed_at is not None:
        return {"kind": "removed", "at": state.removed_at}
    successor = event.superseded_by
    link = successor if successor and successor in calendar else None
    if event.status is Status.SUPERSEDED:
        return {
            "kind": "superseded",
            "successor": link,
            "successor_title": calendar.get(link).title if link else successor,
        }
    if event.status is Status.CANCELLED:
        return {
            "kind": "cancelled",
            "successor": link,
            "successor_title": calendar.get(link).title if link else successor,
        }
    if event.status is Status.POSTPONED:
        return {"kind": "postponed"}
    return None


def _event_context(
    snap: Snapshot, event: Event, state: Published | None, gone: bool, page_url: str, now: dt.datetime
) -> dict[str, Any]:
    calendar = snap.calendar
    tz = calendar.tz
    siblings = pagekit.action_index(calendar).get(event.action or "", ())
    timeline = None
    if len(siblings) > 1:
        lanes = lanes_per_event(siblings, tz, _event_href)
        begin, end = window_around((i for lane in lanes for i in lane.items), now)
        timeline = render_svg(
            lanes, begin, end, now, label=f"Dates of {event.action}", element_id="action-timeline"
        )
    details = f"{event.description or event.title}\n\n{page_url}"
    start_utc = event.start_utc(tz)
    return {
        "snapshot": snap,
        "event": event,
        "gone": gone,
        "notice": _notice(snap, event, gone, state),
        "when": span_label(event),
        # A whole-day event's days are read in its own zone (Brussels for an EU deadline): say which.
        "zone": getattr(event.start.tzinfo, "key", "")
        if isinstance(event.start, dt.datetime)
        else event.day_tz,
        "start_utc": utc_text(start_utc),
        "deadline": _deadline(event, now),
        "history": [
            {
                "step": step,
                "before": moment_label(step.before) if step.before is not None else None,
                "after": moment_label(step.after) if step.after is not None else None,
            }
            for step in steps(event, calendar.meta.timezone)
        ],
        "siblings": siblings,
        "action_title": _action_title(snap, event.action),
        "labels": {e.id: span_label(e) for e in siblings},
        "timeline": timeline,
        "related": [calendar.get(r) for r in event.related if r in calendar],
        "sequence": feed_item(calendar, snap.published, event)[1].sequence if event.rrule else _seq(state),
        "series": _series_context(snap, event),
        "google": google_link(event, details),
        "outlook": outlook_link(event, details),
        "page_url": page_url,
    }


def _seq(state: Published | None) -> int | None:
    return state.sequence if state else None


def _series_context(snap: Snapshot, event: Event) -> dict[str, Any] | None:
    """For a repeating entry or one of its dates: the series' id, rule and every date it has."""
    if event.rrule is None:
        return None
    series_id = event.series or event.id
    dates = snap.calendar.occurrences(series_id)
    return {
        "id": series_id,
        "rrule": event.rrule,
        "exdates": [day.isoformat() for day in event.exdates],
        "dates": dates,
        "labels": {e.id: span_label(e) for e in dates},
        "is_series": event.id == series_id,
    }


def _action_title(snap: Snapshot, action: str | None) -> str | None:
    if action is None:
        return None
    try:
        return snap.calendar.action(action).title
    except ActionNotFound:  # a removed event may name an action that has gone too
        return action


def _event_href(event_id: str) -> str:
    return url_for("eventpages.event_page", event_id=event_id)


@bp.get("/actions/<path:action>")
@takes()
def action_page(action: str) -> Response:
    """An action's dates in order on a timeline, with its record: title, instrument, authority, sources."""
    snap = pagekit.snapshot()
    if snap is None:
        return pagekit.not_loaded()
    calendar = snap.calendar
    if not _is_id(action):
        return pagekit.not_found("action", action, snap)
    try:
        record = calendar.action(action)
    except ActionNotFound:
        return pagekit.not_found("action", action, snap)
    events = pagekit.action_index(calendar).get(action, ())
    now = pagekit.now()
    timeline = None
    if events:
        lanes = lanes_per_event(events, calendar.tz, _event_href)
        begin, end = window_around((i for lane in lanes for i in lane.items), now)
        timeline = render_svg(
            lanes, begin, end, now, label=f"Dates of {record.title}", element_id="action-timeline"
        )
    # The action's own sources first, then those its dates cite, each once.
    sources: dict[tuple[str, str | None], Any] = {}
    for source in (*record.sources, *(s for e in events for s in e.sources)):
        sources.setdefault((source.title, source.url), source)
    instruments = dict.fromkeys([record.instrument] if record.instrument else [])
    instruments.update(dict.fromkeys(e.instrument for e in events if e.instrument))
    authorities = dict.fromkeys([record.authority.value] if record.authority else [])
    authorities.update(dict.fromkeys(e.authority.value for e in events if e.authority))
    html = render_template(
        "action.html",
        snapshot=snap,
        action=action,
        record=record,
        events=events,
        labels={e.id: span_label(e) for e in events},
        timeline=timeline,
        instruments=list(instruments),
        authorities=list(authorities),
        countries=sorted({c for e in events for c in e.countries}),
        hs=sorted({h for e in events for h in e.hs}),
        sources=list(sources.values()),
        feed=f"{pagekit.base_url()}/calendar.ics?action={action}",
    )
    return pagekit.page(html, snap, now)


@bp.get("/search")
@takes("q")
def search() -> Response:
    """Events whose id, title, description, instrument, action, tags or sources hold every word."""
    snap = pagekit.snapshot()
    if snap is None:
        return pagekit.not_loaded()
    text = request.args.get("q", "")[:200]
    words = [w.casefold() for w in text.split()]
    found = [e for e in snap.calendar if matches_text(e, words)][:100] if words else []
    html = render_template(
        "search.html", snapshot=snap, q=text, found=found, labels={e.id: span_label(e) for e in found}
    )
    return pagekit.page(html, snap, pagekit.now())
