"""The JSON API under `/api/v1`: events, one event, upcoming deadlines, changes, calendar metadata."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from pydantic_core import to_json

from calendar_service.adapters.live import Snapshot
from calendar_service.application import deadlines, indexes
from calendar_service.application.answers import AnswerCache
from calendar_service.application.changes import select_changes
from calendar_service.application.events import EventQuery, order_key
from calendar_service.application.expiry import (
    earliest,
    remaining_seconds_until,
    unconfirmed_until,
)
from calendar_service.application.indexes import index_of
from calendar_service.core import certainty
from calendar_service.core.calendar import Event, series_master
from calendar_service.core.filters import FILTER_PARAMETERS, EventFilter, parse_filter
from calendar_service.core.publication import Published, series_states
from calendar_service.core.timing import Duration, iso_duration, parse_duration
from calendar_service.render.ical import review_instant
from calendar_service.render.jsonview import event_to_dict, moment_to_dict, utc_text
from calendar_service.web.errorhandlers import BadParameter, calendar_not_loaded
from calendar_service.web.extension import services
from calendar_service.web.openapi import operation, parse_query, respond
from calendar_service.web.schemas import (
    CalendarInfo,
    ChangesPage,
    ChangesQuery,
    EventOut,
    EventPage,
    EventsQuery,
    FilterQuery,
    UpcomingPage,
    UpcomingQuery,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

P = "/api/v1"
MAX_WITHIN_DAYS = 3660  # ten years
MAX_PAGE_BYTES = 1024 * 1024  # a page of events stops before this much JSON (next_cursor says where)
EPOCH = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


def _snapshot() -> Snapshot | Response:
    live = services().live
    live.maybe_check()
    snapshot = live.snapshot
    if snapshot is None:
        return calendar_not_loaded()
    return snapshot


def _now() -> dt.datetime:
    clock = services().clock
    return clock.now()


def _args() -> dict[str, list[str]]:
    return {name: request.args.getlist(name) for name in request.args}


def _event_filter(query: FilterQuery) -> EventFilter:
    params = {name: getattr(query, name) for name in FILTER_PARAMETERS if getattr(query, name)}
    return parse_filter(params)


def event_view(
    event: Event, snapshot: Snapshot, series: Mapping[str, Published] | None = None
) -> dict[str, Any]:
    """An event as the API shows it, with its feed SEQUENCE when it has been published (a date of a
    series: the series' SEQUENCE, as its one VEVENT has it; pass `series_sequences` for many)."""
    data = event_to_dict(event, snapshot.calendar, _now())  # `unconfirmed` as of this answer
    if event.rrule is not None:
        states = series if series is not None else series_sequences(snapshot)
        data["feed_sequence"] = getattr(states.get(event.series or event.id), "sequence", None)
    else:
        data["feed_sequence"] = getattr(snapshot.published.get(event.id), "sequence", None)
    return data


@dataclass(frozen=True, slots=True)
class EventJson:
    """An event's API view as JSON, validated once, with what a page counts it as (`budget`)."""

    json: bytes  # EventOut, as `respond` writes it
    deadline: bytes  # its `deadline` (a Moment), or null
    budget: int  # the view's size as the page's byte budget measures it (see _within_bytes)


ANSWERS = "trade_calendar_api_answers"
FRAGMENTS = "trade_calendar_api_fragments"


def init_app(app: Flask) -> None:
    """Give the app its per-process caches of answers and of events as JSON (both bounded)."""
    app.extensions[ANSWERS] = AnswerCache[bytes](max_entries=512, max_bytes=32 * 1024 * 1024)
    app.extensions[FRAGMENTS] = AnswerCache[EventJson](max_entries=50_000, max_bytes=32 * 1024 * 1024)


def _answers() -> AnswerCache[bytes]:
    found: AnswerCache[bytes] = current_app.extensions[ANSWERS]
    return found


def event_json(
    event: Event, snapshot: Snapshot, now: dt.datetime, series: Mapping[str, Published]
) -> EventJson:
    """`event_view` as JSON, kept per generation: it depends on `now` only through `unconfirmed`, so
    it is kept under that too."""
    fragments: AnswerCache[EventJson] = current_app.extensions[FRAGMENTS]
    tz = snapshot.calendar.tz
    unconfirmed = certainty.recorded_unconfirmed(event) or certainty.outcome_unconfirmed(event, now, tz)
    key = (event.id, unconfirmed)
    found = fragments.get(snapshot.generation, key, now)
    if found is not None:
        return found
    view = event_view(event, snapshot, series)
    out = EventOut.model_validate(view)
    built = EventJson(
        out.model_dump_json(exclude_none=False).encode(),
        out.deadline.model_dump_json().encode() if out.deadline is not None else b"null",
        len(json.dumps(view, ensure_ascii=False, default=str).encode()),
    )
    # Kept from the dawn of time: the view is the same at any `now` with the same `unconfirmed`.
    return fragments.put(snapshot.generation, key, EPOCH, built, None, len(built.json) + len(built.deadline))


def _args_key() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The query as a key: each name's values in order, the names in any order."""
    return tuple(sorted((name, tuple(request.args.getlist(name))) for name in request.args))


def _json(body: bytes) -> Response:
    return Response(body, mimetype="application/json")


def series_sequences(snapshot: Snapshot) -> dict[str, Published]:
    """The feed's record of every series in `snapshot` (what its one VEVENT carries)."""
    calendar = snapshot.calendar
    return series_states(calendar, snapshot.published, review_instant(calendar))


def _bound(name: str, value: dt.date | dt.datetime | None, tz: dt.tzinfo) -> dt.date | dt.datetime | None:
    """A `from`/`to` as the selection takes it: a date stays a day; a time becomes an aware instant."""
    if value is None or not isinstance(value, dt.datetime):
        return value
    return _instant(name, value, tz)


def _instant(name: str, value: dt.date | dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)  # a date or naive time is read in the calendar's zone
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise BadParameter(name, value.isoformat(), "out of range; use a year between 1 and 9998") from None


def _encode_cursor(event: Event) -> str:
    day, instant, event_id = order_key(event)
    raw = f"{day.isoformat()}|{instant.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.date, dt.datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        day, moment, event_id = text.split("|", 2)
        after = dt.datetime.fromisoformat(moment)
        if after.utcoffset() is None:
            raise ValueError("a cursor's instant carries its offset")  # compared with aware instants
        return dt.date.fromisoformat(day), after, event_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadParameter(
            "cursor", cursor, "not a cursor this API issued; use `next_cursor` from the previous page"
        ) from None


@bp.get("/events")
@operation(f"{P}/events", tag="events", query=EventsQuery, response=EventPage, errors=(400, 503))
def list_events() -> Response:
    """Events matching the filters, in the order a reader sees them (day shown, then instant), a page at
    a time. `from`/`to` dates are days as each event shows them (see the parameters)."""
    snapshot = _snapshot()
    if isinstance(snapshot, Response):
        return snapshot
    now = _now()
    body = _answers().answer(
        snapshot.generation, ("events", _args_key()), now, lambda: _events_body(snapshot, now)
    )
    return _json(body)


def _events_body(snapshot: Snapshot, now: dt.datetime) -> tuple[bytes, dt.datetime | None, int]:
    """The page of events as JSON, and until when it holds: the next time a listed tentative event's
    date passes (its `unconfirmed` turns true; the page's byte budget counts that field too)."""
    query = parse_query(EventsQuery, _args())
    calendar = snapshot.calendar
    tz = calendar.tz
    index = index_of(snapshot)
    selected = indexes.selected(
        snapshot,
        EventQuery(
            event_filter=_event_filter(query),
            begin=_bound("from", query.from_, tz),
            end=_bound("to", query.to, tz),
            words=tuple((query.q or "").split()),
        ),
    )
    if query.cursor:
        after = _decode_cursor(query.cursor)
        selected_after = [e for e in selected if index.keys[e.id] > after]
    else:
        selected_after = selected
    considered = selected_after[: query.limit]
    series = series_sequences(snapshot) if any(e.rrule for e in considered) else {}
    page, items = _within_bytes(considered, snapshot, now, series)
    more = len(selected_after) > len(page)
    cursor = _encode_cursor(page[-1]) if more and page else None
    body = b"".join(
        (
            b'{"items":[',
            b",".join(item.json for item in items),
            b'],"count":%d,"total":%d,"next_cursor":' % (len(page), len(selected)),
            to_json(cursor),
            b"}",
        )
    )
    EventPage.model_validate_json(body)  # once per answer built, not per request
    until = earliest(unconfirmed_until(e, now, tz) for e in considered)
    return body, until, len(body)


def _within_bytes(
    events: list[Event], snapshot: Snapshot, now: dt.datetime, series: Mapping[str, Published]
) -> tuple[list[Event], list[EventJson]]:
    """The leading events whose views fit in MAX_PAGE_BYTES (at least one), and those views.

    `limit` alone bounded a page in events, not bytes: 500 occurrences of a series with a long
    description and history were hundreds of megabytes. The rest is on the next page (`next_cursor`).
    """
    kept: list[Event] = []
    views: list[EventJson] = []
    size = 0
    for event in events:
        view = event_json(event, snapshot, now, series)
        size += view.budget
        if views and size > MAX_PAGE_BYTES:
            break
        kept.append(event)
        views.append(view)
    return kept, views


@bp.get("/events/<event_id>")
@operation(
    f"{P}/events/{{event_id}}",
    tag="events",
    path_params={
        "event_id": "The event's id (its iCalendar UID); a repeating entry's own id gives the series"
    },
    response=EventOut,
    errors=(404, 503),
)
def get_event(event_id: str) -> Response:
    """One event with its recorded history; a repeating entry's id gives the series with its dates."""
    snapshot = _snapshot()
    if isinstance(snapshot, Response):
        return snapshot
    calendar = snapshot.calendar
    dates = calendar.occurrences(event_id) if event_id not in calendar else ()
    if dates:
        series = series_sequences(snapshot)
        view = event_view(series_master(dates[0]), snapshot, series)
        view["occurrences"] = [event_view(e, snapshot, series) for e in dates]
        return respond(EventOut, view)
    return respond(EventOut, event_view(calendar.get(event_id), snapshot))


@bp.get("/deadlines/upcoming")
@operation(
    f"{P}/deadlines/upcoming", tag="events", query=UpcomingQuery, response=UpcomingPage, errors=(400, 503)
)
def upcoming_deadlines() -> Response:
    """The next live deadlines within a window, with the time remaining until each."""
    snapshot = _snapshot()
    if isinstance(snapshot, Response):
        return snapshot
    now = _now()
    rest = _answers().answer(
        snapshot.generation, ("upcoming", _args_key()), now, lambda: _upcoming_rest(snapshot, now)
    )
    return _json(b'{"now":' + to_json(utc_text(now)) + rest)


def _upcoming_window(query: UpcomingQuery) -> Duration:
    try:
        window = parse_duration(query.within)
    except ValueError as exc:
        raise BadParameter("within", query.within, str(exc)) from None
    # Compared in whole seconds: PT99999999H is a few days in `days` and overflows a datetime.
    if not window.is_positive or window.days * 86400 + window.seconds > MAX_WITHIN_DAYS * 86400:
        hint = f"use a positive duration up to ten years (P{MAX_WITHIN_DAYS}D), e.g. P30D"
        raise BadParameter("within", query.within, hint)
    return window


def _upcoming_rest(snapshot: Snapshot, now: dt.datetime) -> tuple[bytes, dt.datetime | None, int]:
    """The upcoming answer after its `now` (which differs at every request), and until when it holds:
    a listed deadline passes, one beyond the window comes within it, a `remaining_seconds` ticks, a
    tentative event's date passes."""
    query = parse_query(UpcomingQuery, _args())
    window = _upcoming_window(query)
    index = index_of(snapshot)
    horizon = now + window.as_timedelta()
    everything = deadlines.upcoming_in(index, _event_filter(query), now, horizon)
    due = everything[: query.limit]
    series = series_sequences(snapshot) if any(e.rrule for e in due) else {}
    items = []
    for event in due:
        assert event.deadline_at is not None
        view = event_json(event, snapshot, now, series)
        seconds = int((event.deadline_at - now).total_seconds())
        items.append(
            b"".join(
                (
                    b'{"event":',
                    view.json,
                    b',"deadline":',
                    view.deadline,
                    b',"remaining":',
                    to_json(iso_duration(dt.timedelta(seconds=seconds))),
                    b',"remaining_seconds":%d}' % seconds,
                )
            )
        )
    rest = b',"within":' + to_json(window.text) + b',"items":[' + b",".join(items) + b"]}"
    UpcomingPage.model_validate_json(b'{"now":' + to_json(utc_text(now)) + rest)  # once per answer built
    tz = snapshot.calendar.tz
    ticks = [remaining_seconds_until(e.deadline_at, now) for e in due if e.deadline_at is not None]
    until = earliest(
        [
            deadlines.upcoming_changes_at(index, everything, now, horizon),
            *ticks,
            *(unconfirmed_until(e, now, tz) for e in due),
        ]
    )
    return rest, until, len(rest)


@bp.get("/changes")
@operation(f"{P}/changes", tag="events", query=ChangesQuery, response=ChangesPage, errors=(400, 503))
def list_changes() -> Response:
    """What moved, was cancelled or superseded since a date or instant, newest first."""
    snapshot = _snapshot()
    if isinstance(snapshot, Response):
        return snapshot
    query = parse_query(ChangesQuery, _args())
    since = _instant("since", query.since, snapshot.calendar.tz)
    assert since is not None
    items = select_changes(snapshot, since, limit=query.limit)
    return respond(ChangesPage, {"since": utc_text(since), "items": items})


def _counts(events: Iterable[Event]) -> dict[str, dict[str, int]]:
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for event in events:
        kinds[event.kind.value] += 1
        statuses[event.status.value] += 1
    return {"kind": dict(sorted(kinds.items())), "status": dict(sorted(statuses.items()))}


@bp.get("/calendar")
@operation(f"{P}/calendar", tag="meta", response=CalendarInfo, errors=(503,))
def calendar_info() -> Response:
    """The calendar's name, the data version served, when it was last reviewed, and counts."""
    snapshot = _snapshot()
    if isinstance(snapshot, Response):
        return snapshot
    meta = snapshot.calendar.meta
    return respond(
        CalendarInfo,
        {
            "name": meta.name,
            "description": meta.description,
            "timezone": meta.timezone,
            "contact": meta.contact,
            "url": meta.url,
            "version": snapshot.calendar.version,
            "reviewed": meta.reviewed.isoformat(),
            "loaded_at": utc_text(snapshot.loaded_at),
            "events": len(snapshot.calendar),
            "counts": _counts(snapshot.calendar),
        },
    )


__all__ = ["bp", "event_view", "moment_to_dict"]
