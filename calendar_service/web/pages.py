"""The home page (timeline, what changed, upcoming, the feed builder), `/changes`, its Atom feed, `/docs`.

The same query as the feed narrows every part of the home page and the changes: one parser
(`filters.parse_filter`) reads `/`, `/changes`, `/calendar.ics` and `/api/v1/events` alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for

from calendar_service.adapters.live import Snapshot
from calendar_service.application.answers import AnswerCache
from calendar_service.application.changes import changed_event, select_changes
from calendar_service.application.deadlines import upcoming_changes_at, upcoming_in
from calendar_service.application.expiry import (
    TICK,
    countdown_until,
    earliest,
    next_local_midnight,
    next_minute,
    unconfirmed_until,
)
from calendar_service.application.indexes import index_of, states_of
from calendar_service.core.errors import ActionNotFound, FilterError
from calendar_service.core.filters import FILTER_PARAMETERS, EventFilter, parse_filter
from calendar_service.core.model import Authority, Importance, Kind, Status
from calendar_service.core.timing import zone
from calendar_service.render.atom import Entry, entry_id, render_atom
from calendar_service.render.ical import parse_alarms
from calendar_service.render.timeline import Span, lanes_by_action, moment_label, render_svg
from calendar_service.render.wording import (
    AUTHORITY_NAMES,
    REMOVED,
    badge,
    country_name,
)
from calendar_service.web import pagekit
from calendar_service.web.feeds import FEED_PATH
from calendar_service.web.ignored import takes
from calendar_service.web.openapi import document

bp = Blueprint("pages", __name__)

TIMELINE_BEFORE = dt.timedelta(days=14)
TIMELINE_AFTER = dt.timedelta(days=183)
MAX_LANES = 30  # more actions than this in the window: the rest are counted, and the filters narrow
MAX_ITEMS = 24  # marks per lane, nearest today first
# One window for "what changed" on the home page and /changes (the issue: 7 and 30 days read as a bug).
CHANGES_WINDOW = dt.timedelta(days=7)
DEADLINES_SHOWN = 12  # rows before "show all": the first screen answers what is due next
ATOM_LIMIT = 200
CHANGES_PAGE_LIMIT = 500
HOME_PARAMETERS = (*FILTER_PARAMETERS, "alarm", "deadlines")  # what the home page reads of its query
ANSWERS = "trade_calendar_page_answers"


def feed_addresses(base: str, query: str = "") -> dict[str, str]:
    """The https and webcal forms of a feed address (webcal:// makes calendar apps subscribe)."""
    https = f"{base}{FEED_PATH}" + (f"?{query}" if query else "")
    scheme, _, rest = https.partition("://")
    return {"https": https, "webcal": f"webcal://{rest}" if scheme in {"http", "https"} else https}


def _chosen() -> dict[str, list[str]]:
    return {name: request.args.getlist(name) for name in (*FILTER_PARAMETERS, "alarm")}


def _filter(snap: Snapshot | None, chosen: Mapping[str, list[str]]) -> tuple[EventFilter, dict[str, str]]:
    """The page's filter and the problem with each field (an invalid filter shows everything and says
    why, next to the field that holds the bad value)."""
    problems: dict[str, str] = {}
    if snap is None:
        return EventFilter(), problems
    given = {k: v for k, v in chosen.items() if k != "alarm" and v}
    for name, values in given.items():
        try:
            parse_filter({name: values})
        except FilterError as exc:
            problems[exc.parameter] = str(exc)
    if problems:
        return EventFilter(), problems
    return parse_filter(given), problems


@bp.get("/")
@takes(*FILTER_PARAMETERS, "alarm", "deadlines")
def home() -> Response:
    """The next deadlines first, then what changed, the coming months on a timeline, the feeds."""
    snap = pagekit.snapshot()
    now = pagekit.now()
    if snap is None:
        return pagekit.page(_home(snap, now)[0], snap, now)
    cache: AnswerCache[tuple[bytes, str]] = current_app.extensions[ANSWERS]
    html, etag = cache.answer(snap.generation, _home_key(), now, lambda: _home_kept(snap, now))
    return pagekit.page(html, snap, now, etag=etag)


def _home_key() -> tuple[object, ...]:
    """What the home page depends on besides the data and the clock: the address it was asked at (its
    links and feed addresses) and the query parameters it reads."""
    args = request.args
    return (*pagekit.address_key(), *(tuple(args.getlist(name)) for name in HOME_PARAMETERS))


def _home_kept(snap: Snapshot, now: dt.datetime) -> tuple[tuple[bytes, str], dt.datetime | None, int]:
    html, until, size = _home(snap, now)
    return (html, pagekit.etag_of(html)), until, size


def _home(snap: Snapshot | None, now: dt.datetime) -> tuple[bytes, dt.datetime | None, int]:
    """The home page's bytes and until when they hold (see `_overview`)."""
    base = pagekit.base_url()
    chosen = _chosen()
    event_filter, problems = _filter(snap, chosen)
    built = None
    if snap is not None and not problems and any(chosen.values()):
        query = list(event_filter.to_query().items())
        try:
            alarms = [a for a in chosen["alarm"] if a]
            if alarms:
                query.append(("alarm", [a.text for a in parse_alarms(alarms)]))
        except FilterError as exc:
            problems["alarm"] = str(exc)
        if not problems:  # an address that silently dropped a bad alarm would be worse than none
            built = feed_addresses(base, urlencode([(k, ",".join(v)) for k, v in query], safe=","))
    context: dict[str, Any] = {"timeline": None, "hidden_lanes": 0, "changes": [], "upcoming": [], "due": 0}
    until = None
    if snap is not None:
        show_all = request.args.get("deadlines") == "all"
        context, until = _overview(snap, event_filter, now, show_all)
    known = index_of(snap).vocabulary if snap else {"country": frozenset(), "tag": frozenset()}
    options = {
        "country": [(c, country_name(c)) for c in sorted(known["country"], key=country_name)],
        "kind": [(k.value, k.value) for k in Kind],
        "importance": [(i.value, i.value) for i in Importance],
        "status": [(s.value, s.value) for s in Status],
        "authority": [(a.value, AUTHORITY_NAMES[a]) for a in Authority],
        "tag": [(t, t) for t in sorted(known["tag"])],
    }
    filter_query = urlencode([(k, ",".join(v)) for k, v in event_filter.to_query().items()], safe=",")
    html = render_template(
        "home.html",
        snapshot=snap,
        feeds=feed_addresses(base),
        built=built,
        problems=problems,
        chosen={k: [x for v in vs for x in v.split(",")] for k, vs in chosen.items()},
        options=options,
        host=urlsplit(base).netloc,
        filter_query=filter_query,
        **context,
    ).encode()
    return html, until, len(html)


def _overview(
    snap: Snapshot, event_filter: EventFilter, now: dt.datetime, show_all: bool
) -> tuple[dict[str, Any], dt.datetime | None]:
    """The page's parts that move with the clock, and the first instant any of them reads differently.

    The timeline is drawn for the minute (`drawn`): its marks are placed to a hundredth of a per cent
    of 197 days (28 minutes), so a drawing per second would change nothing anyone sees but the bytes.
    Statuses, countdowns and lists follow `now` itself.
    """
    tz = snap.calendar.tz
    index = index_of(snap)
    drawn = now.replace(second=0, microsecond=0)
    begin, end = drawn - TIMELINE_BEFORE, drawn + TIMELINE_AFTER
    shown: list[Span] = [span for span in index.overlapping(begin, end) if event_filter.matches(span[0])]
    lanes, hidden = lanes_by_action(
        shown,
        tz,
        drawn,
        href=pagekit.event_href,
        group_href=_group_href,
        max_lanes=MAX_LANES,
        max_items=MAX_ITEMS,
        group_title=lambda _what, name: _action_name(snap, name),
        state_at=now,
    )
    timeline = render_svg(
        lanes, begin, end, drawn, label="The coming months, one row per action", element_id="timeline"
    )
    due = upcoming_in(index, event_filter, now)
    rows = due if show_all else due[:DEADLINES_SHOWN]
    since = now - CHANGES_WINDOW
    changes = _filtered_changes(snap, event_filter, since, now, limit=20)
    until = earliest(
        [
            next_minute(now),
            *(unconfirmed_until(span[0], now, tz) for span in shown),
            upcoming_changes_at(index, due, now),
            *(countdown_until(e.deadline_at, now) for e in rows if e.deadline_at is not None),
            *(unconfirmed_until(e, now, tz) for e in rows),
            _changes_until(snap, since),
            *(unconfirmed_until(c["event"], now, tz) for c in changes),
        ]
    )
    context = {
        "timeline": timeline,
        "hidden_lanes": hidden,
        "changes": changes,
        "upcoming": [pagekit.deadline_row(e, now, tz) for e in rows],
        "due": len(due),
        "week_ago": since.astimezone(tz).date(),
    }
    return context, until


def _changes_until(snap: Snapshot, since: dt.datetime) -> dt.datetime | None:
    """When "what changed since `since`" (a window that moves with the clock) next loses an entry: a
    recorded change's day leaves it at the next local midnight, an observed one a tick after its
    instant is `CHANGES_WINDOW` old."""
    moments = [
        moment
        for _, state in states_of(snap).moved_since(since)
        for moment in (state.first_published, state.removed_at, state.last_modified)
        if moment is not None and moment >= since
    ]
    day_turns = next_local_midnight(since, snap.calendar.tz)
    return earliest([day_turns + CHANGES_WINDOW, *(m + CHANGES_WINDOW + TICK for m in moments)])


def _action_name(snap: Snapshot, action: str) -> str:
    try:
        return snap.calendar.action(action).title
    except ActionNotFound:
        return action


def _group_href(what: str, name: str) -> str:
    """An action's lane links its page; a kind's lane links the home page narrowed to that kind."""
    if what == "action":
        return url_for("eventpages.action_page", action=name)
    return url_for("pages.home", kind=name)


def _filtered_changes(
    snap: Snapshot, event_filter: EventFilter, since: dt.datetime, now: dt.datetime, limit: int | None = None
) -> list[dict[str, Any]]:
    """The newest `limit` changes since `since` that the filter lets through, with summary and status."""
    out: list[dict[str, Any]] = []
    for entry in select_changes(snap, since, event_filter, limit):
        found = changed_event(snap, entry)
        if found is None:
            continue
        event, gone = found
        status = REMOVED if gone else badge(event, now, snap.calendar.tz)
        out.append({**entry, "summary": _summary(entry), "event": event, "badge": status})
    return out


def _shown(moment: Mapping[str, Any] | None) -> str | None:
    if not moment:
        return None
    local = dt.datetime.fromisoformat(moment["local"])
    if moment.get("all_day"):
        return moment_label(local.date())
    return moment_label(local.astimezone(zone(moment["zone"])))  # the zone names its abbreviation


def _summary(entry: Mapping[str, Any]) -> str:
    """One sentence: what happened, with the old and new times where they are known."""
    text = str(entry["change"])
    was, now = _shown(entry.get("was_at")), _shown(entry.get("now_at"))
    if was and now:
        text += f": was {was} → now {now}"
    elif entry.get("start") and entry["change"] != "removed":
        text += f"; date {_shown(entry['start'])}"
    if entry.get("was_status"):
        text += f" (status was {entry['was_status']})"
    if entry.get("note"):
        text += f" — {entry['note']}"
    return text


def _since(now: dt.datetime, tz: dt.tzinfo) -> tuple[dt.datetime, str | None]:
    raw = request.args.get("since", "")
    if not raw:
        return now - CHANGES_WINDOW, None
    try:
        day = dt.date.fromisoformat(raw[:10])
        return dt.datetime.combine(day, dt.time(0), tzinfo=tz), None
    except ValueError:
        return now - CHANGES_WINDOW, f"since={raw[:40]!r} is not a date; use YYYY-MM-DD"


@bp.get("/changes")
@takes(*FILTER_PARAMETERS, "alarm", "since")
def changes() -> Response:
    """What moved, was cancelled, superseded or removed since a date (default: the last 7 days)."""
    snap = pagekit.snapshot()
    if snap is None:
        return pagekit.not_loaded()
    now = pagekit.now()
    tz = snap.calendar.tz
    since, since_error = _since(now, tz)
    chosen = _chosen()
    event_filter, problems = _filter(snap, chosen)
    items = _filtered_changes(snap, event_filter, since, now, limit=CHANGES_PAGE_LIMIT)
    query = urlencode([(k, ",".join(v)) for k, v in event_filter.to_query().items()], safe=",")
    html = render_template(
        "changes.html",
        snapshot=snap,
        items=items,
        limit=CHANGES_PAGE_LIMIT,
        since=since.astimezone(tz).date(),
        error="; ".join([*problems.values(), *([since_error] if since_error else [])]),
        atom=url_for("pages.changes_atom") + (f"?{query}" if query else ""),
    )
    return pagekit.page(html, snap, now)


@bp.get("/changes.atom")
@takes(*FILTER_PARAMETERS)
def changes_atom() -> Response:
    """Every recorded or observed change as Atom 1.0, newest first; the feed filters apply."""
    snap = pagekit.snapshot()
    if snap is None:
        return pagekit.not_loaded()
    event_filter = parse_filter(
        {name: request.args.getlist(name) for name in FILTER_PARAMETERS if request.args.getlist(name)}
    )
    base = pagekit.base_url()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    entries = []
    for item in _filtered_changes(snap, event_filter, epoch, pagekit.now(), limit=ATOM_LIMIT):
        at = item["at"]
        updated = (
            dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
            if "T" in at
            else dt.datetime.combine(dt.date.fromisoformat(at), dt.time(0), tzinfo=dt.UTC)
        )
        entries.append(
            Entry(
                id=entry_id(item["event_id"], item["origin"], item["change"], at),
                title=f"{item['title']}: {item['change']}",
                updated=updated,
                link=f"{base}/events/{item['event_id']}",
                summary=f"{item['summary']} (status: {item['badge'].text})",
            )
        )
    reviewed = dt.datetime.combine(snap.calendar.meta.reviewed, dt.time(0), tzinfo=dt.UTC)
    query = request.query_string.decode("latin-1")
    body = render_atom(
        entries,
        feed_id=f"tag:trade-calendar,2025:changes{'?' + query if query else ''}",
        title=f"{snap.calendar.meta.name}: what changed",
        self_url=f"{base}/changes.atom" + (f"?{query}" if query else ""),
        page_url=f"{base}/changes",
        fallback=reviewed,
    )
    return pagekit.page(body, snap, pagekit.now(), mimetype="application/atom+xml; charset=utf-8")


@bp.get("/docs")
def docs() -> str:
    """Every operation of the OpenAPI document, rendered on the server (no CDN, no script)."""
    spec = document()
    operations = [
        (path, method.upper(), details)
        for path, methods in spec["paths"].items()
        for method, details in methods.items()
    ]
    return render_template("docs.html", spec=spec, operations=operations)


def init_app(app: Flask) -> None:
    """Give the templates the shared wording helpers (see pagekit), and the app its kept pages."""
    pagekit.init_app(app)
    app.extensions[ANSWERS] = AnswerCache[tuple[bytes, str]](max_entries=256, max_bytes=64 * 1024 * 1024)
