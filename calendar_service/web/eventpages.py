"""One event's page (`/events/<id>`, its `.ics`), an action's page (`/actions/<action>`), and `/search`.

The id in the address is the one the data file and the feed's UID use, so a page's address never
changes. Anything that is not a known id gets the 404 page with a search box; an event removed from the
data answers 410 with what it was, for as long as the feed keeps its tombstone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from markupsafe import Markup

from calendar_service.adapters.live import Snapshot
from calendar_service.application.answers import AnswerCache
from calendar_service.application.events import matches_text
from calendar_service.application.expiry import countdown_until, earliest, next_minute, unconfirmed_until
from calendar_service.core.calendar import Event, series_master
from calendar_service.core.errors import ActionNotFound
from calendar_service.core.history import steps
from calendar_service.core.model import SLUG, Status
from calendar_service.core.publication import Published, event_from_snapshot, moment_from_snapshot
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
from calendar_service.render.wording import (
    REMOVED,
    badge,
    countdown,
    deadline_text,
    deadline_zone,
    dotted_hs,
    rule_text,
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
    cache: AnswerCache[tuple[bytes, str]] = current_app.extensions[ANSWERS]
    html, etag = cache.answer(
        snap.generation,
        (*pagekit.address_key(), key),
        now,
        lambda: _event_kept(snap, event, state, gone, page_url, now),
    )
    return pagekit.page(html, snap, now, status=410 if gone else 200, etag=etag)


def _event_kept(
    snap: Snapshot, event: Event, state: Published | None, gone: bool, page_url: str, now: dt.datetime
) -> tuple[tuple[bytes, str], dt.datetime | None, int]:
    """The event page's bytes and ETag, and until when they hold: the action's timeline is drawn for the
    minute; the statuses shown (the event's, its action's and its series' dates) turn when a tentative
    date passes; the countdown and "under way" tick as `countdown` words them."""
    context = _event_context(snap, event, state, gone, page_url, now)
    html = render_template("event.html", **context).encode()
    tz = snap.calendar.tz
    series = context["series"]
    shown = [event, *context["siblings"], *(series["dates"] if series else ())]
    start, end = event.start_utc(tz), event.end_utc(tz)
    moving: list[dt.datetime | None] = [next_minute(now) if context["timeline"] else None]
    moving += [unconfirmed_until(e, now, tz) for e in shown]
    if not gone and event.deadline_at is not None:
        moving.append(countdown_until(event.deadline_at, now))
    if not gone and end is not None:  # "under way" from its start, counting down to its end, until then
        moving += [start if start > now else None, end if end > now else None]
        moving.append(countdown_until(end, now) if start <= now < end else None)
    return (html, pagekit.etag_of(html)), earliest(moving), len(html)


def _event_ics(snap: Snapshot, event: Event, now: dt.datetime) -> Response:
    """The feed's own VEVENT for `event`: one date of a series gets the whole series."""
    item, state, tombstone = feed_item(snap.calendar, snap.published, event)
    page_url = f"{pagekit.base_url()}/events/{item.id}"
    body = render_event(snap.calendar, item, state, tombstone=tombstone, page_url=page_url)
    response = pagekit.page(body, snap, now, mimetype=ICS)
    response.headers["Content-Disposition"] = f'attachment; filename="{item.id}.ics"'
    return response


def _deadline(event: Event, now: dt.datetime, gone: bool) -> dict[str, str] | None:
    if event.deadline_at is None:
        return None
    return {
        "label": deadline_text(event) or "",
        "zone": deadline_zone(event),
        "utc": utc_text(event.deadline_at),
        # A removed event's deadline is no longer counted down: it will not happen as listed.
        "countdown": "" if gone else countdown(event.deadline_at - now),
    }


def _history(event: Event, snap: Snapshot, state: Published | None) -> list[dict[str, Any]]:
    """Recorded changes oldest first, "was → now" only where the time really moved; then a move this
    service saw between data versions that nobody recorded (the same one /changes lists)."""
    out: list[dict[str, Any]] = []
    for step in steps(event, snap.calendar.meta.timezone):
        moved = step.before is not None and step.after is not None and step.before != step.after
        out.append(
            {
                "at": step.change.changed.isoformat(),
                "kind": step.change.kind,
                "before": moment_label(step.before) if moved and step.before is not None else None,
                "after": moment_label(step.after) if moved and step.after is not None else None,
                "was_status": step.change.was_status.value if step.change.was_status else None,
                "note": (step.change.note or "").strip() or None,
                "source": step.change.source,
                "observed": False,
            }
        )
    if state is not None and state.was_start is not None and state.sequence > len(event.history):
        was = moment_from_snapshot(state.was_start)
        if was is not None and was != event.start:
            out.append(
                {
                    "at": state.last_modified.strftime("%Y-%m-%d %H:%M UTC"),
                    "kind": "moved",
                    "before": moment_label(was),
                    "after": moment_label(event.start),
                    "was_status": None,
                    "note": "Seen by this service when the data changed; no history entry records it.",
                    "source": None,
                    "observed": True,
                }
            )
    return out


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
        # Drawn for the minute (marks are placed to a hundredth of a per cent); statuses as of `now`.
        drawn = now.replace(second=0, microsecond=0)
        lanes = lanes_per_event(siblings, tz, pagekit.event_href, now)
        begin, end = window_around((i for lane in lanes for i in lane.items), drawn)
        timeline = render_svg(
            lanes, begin, end, drawn, label=f"Dates of {event.action}", element_id="action-timeline"
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
        "deadline": _deadline(event, now, gone),
        "badge": REMOVED if gone else badge(event, now, tz),
        "under_way": None if gone else pagekit.under_way(event, now, tz),
        "history": _history(event, snap, state),
        "scope": _scope([event]),
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


def _scope(events: Sequence[Event]) -> list[dict[str, str]]:
    """HS codes (dotted) and US chapter 99 headings, each with the home page filtered to it."""
    codes = sorted({h for e in events for h in e.hs})
    headings = sorted({h for e in events for h in e.chapter99})
    out = [
        {"what": "HS", "code": dotted_hs(c), "href": url_for("pages.home", hs=dotted_hs(c))} for c in codes
    ]
    for heading in headings:
        first = heading.partition("-")[0]  # a range of headings filters by its first one
        out.append({"what": "Chapter 99", "code": heading, "href": url_for("pages.home", hs=first)})
    return out


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
        "rule": rule_text(event.rrule),
        "rrule": event.rrule,
        "skipped": [moment_label(day) for day in event.exdates],
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
        lanes = lanes_per_event(events, calendar.tz, pagekit.event_href, now)
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
        scope=_scope(events),
        sources=list(sources.values()),
        feed=f"{pagekit.base_url()}/calendar.ics?action={action}",
    )
    return pagekit.page(html, snap, now)


SEARCH_LIMIT = 100
SNIPPET = 160  # characters of description shown around the first matched word


@bp.get("/search")
@takes("q")
def search() -> Response:
    """Events whose id, title, description, instrument, action, tags or sources hold every word:
    those still ahead first (soonest first), then past ones (latest first), the words marked."""
    snap = pagekit.snapshot()
    if snap is None:
        return pagekit.not_loaded()
    now = pagekit.now()
    tz = snap.calendar.tz
    text = request.args.get("q", "")[:200]
    words = [w.casefold() for w in text.split()]
    found = [e for e in snap.calendar if matches_text(e, words)] if words else []
    ahead = [e for e in found if (e.end_utc(tz) or e.start_utc(tz)) >= now]
    past = [e for e in found if (e.end_utc(tz) or e.start_utc(tz)) < now]
    past.reverse()  # the calendar is in time order: the latest past events first
    rows = [
        {
            "event": e,
            "title": marked(e.title, words),
            "snippet": marked(_snippet(e.description or "", words), words),
            "when": span_label(e),
            "ahead": i < len(ahead),
        }
        for i, e in enumerate((ahead + past)[:SEARCH_LIMIT])
    ]
    html = render_template(
        "search.html",
        snapshot=snap,
        q=text,
        rows=rows,
        total=len(found),
        limit=SEARCH_LIMIT,
        ahead=len(ahead),
    )
    return pagekit.page(html, snap, now)


def marked(text: str, words: Sequence[str]) -> Markup:
    """`text` escaped, with every occurrence of any of `words` (case-insensitive) in `<mark>`."""
    if not words or not text:
        return Markup.escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)), re.I)
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(text[last : match.start()])  # plain text: escaped by join
        parts.append(Markup("<mark>{}</mark>").format(match.group(0)))
        last = match.end()
    parts.append(text[last:])
    return Markup("").join(parts)


def _snippet(description: str, words: Sequence[str]) -> str:
    """The part of the description around the first matched word (empty when none is in it)."""
    folded = description.casefold()
    hits = [folded.find(w) for w in words if w in folded]
    if not hits:
        return ""
    first = min(hits)
    begin = max(0, first - SNIPPET // 3)
    piece = description[begin : begin + SNIPPET]
    return ("…" if begin else "") + piece + ("…" if begin + SNIPPET < len(description) else "")


ANSWERS = "trade_calendar_event_pages"


def init_app(app: Flask) -> None:
    """Give the app its kept event pages (bounded: 2,000 pages or 32 MB per process)."""
    app.extensions[ANSWERS] = AnswerCache[tuple[bytes, str]](max_entries=2000, max_bytes=32 * 1024 * 1024)
