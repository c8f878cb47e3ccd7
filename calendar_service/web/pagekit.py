"""What the HTML pages share: the snapshot and clock, the public address, validators, the 404 page.

Pages answer conditional requests like the feed: a strong ETag that is a hash of the body (which holds
the data version) and Last-Modified from the publication state, or the minute the page was drawn when
that is later (countdowns and "upcoming" move with the clock, not only with the data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, g, has_request_context, render_template, request, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup

from calendar_service.adapters.live import Snapshot
from calendar_service.core.calendar import Calendar, Event
from calendar_service.render.jsonview import utc_text
from calendar_service.render.wording import (
    AUTHORITY_NAMES,
    Badge,
    badge,
    countdown,
    country_name,
    deadline_text,
    deadline_zone,
    dotted_hs,
    zone_city,
)
from calendar_service.web.extension import services
from calendar_service.web.feeds import public_base

HTML = "text/html; charset=utf-8"
SHOWN_ID_LENGTH = 80  # a 10 KB id is not echoed whole


def snapshot() -> Snapshot | None:
    """The version being served (after the usual cheap check for a new file)."""
    live = services().live
    live.maybe_check()
    return live.snapshot


def now() -> dt.datetime:
    """The app clock's time, read once per request (every countdown on a page counts from one moment)."""
    if not has_request_context():
        return services().clock.now()
    if "page_now" not in g:
        g.page_now = services().clock.now()
    moment: dt.datetime = g.page_now
    return moment


def base_url() -> str:
    """The public address: TRADE_CALENDAR_BASE_URL, else the one the request came to."""
    return public_base(current_app.config["TRADE_CALENDAR_BASE_URL"], request.host_url)


def page(
    body: str | bytes,
    snap: Snapshot | None,
    at: dt.datetime,
    *,
    status: int = 200,
    mimetype: str = HTML,
    etag: str | None = None,
) -> Response:
    """A response with a strong ETag and Last-Modified, answering 304 to a current copy (`etag`: the
    body's, from `etag_of`, when the caller kept it)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    response = Response(data, status=status, content_type=mimetype)
    response.headers["Cache-Control"] = "public, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if snap is None:
        return response
    response.set_etag(etag or etag_of(data))
    drawn = at.astimezone(dt.UTC).replace(second=0, microsecond=0)
    response.last_modified = max(snap.last_modified.replace(microsecond=0), drawn)
    if status == 200:
        response.make_conditional(request)
    return response


def address_key() -> tuple[object, ...]:
    """What of the request a page's links and addresses depend on (scheme, host, port, script root): a
    key for pages kept per process, cheaper than `base_url()`."""
    environ = request.environ
    return (
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HOST"),
        environ.get("SERVER_NAME"),
        environ.get("SERVER_PORT"),
        request.script_root,
    )


def etag_of(body: bytes) -> str:
    """A page's strong ETag: a hash of its bytes."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def event_href(event_id: str) -> str:
    """The address of an event's page.

    A timeline links hundreds of events; `url_for` runs once per request for the prefix (script root
    included) and each id, a slug, is appended quoted.
    """
    prefix = g.get("event_href_prefix")
    if prefix is None:
        prefix = g.event_href_prefix = url_for("eventpages.event_page", event_id="-")[:-1]
    return f"{prefix}{quote(event_id, safe='')}"


def not_loaded() -> Response:
    """503 while no valid data file has been loaded."""
    html = render_template(
        "message.html",
        title="Calendar not loaded",
        text="No valid data file has been loaded yet; see /healthz.",
    )
    return page(html, None, now(), status=503)


def not_found(what: str, value: str, snap: Snapshot | None) -> Response:
    """404 with a search box; the asked-for id is shown shortened and escaped by the template."""
    shown = value if len(value) <= SHOWN_ID_LENGTH else value[:SHOWN_ID_LENGTH] + "…"
    html = render_template("notfound.html", what=what, shown=shown, snapshot=snap)
    response = page(html, None, now(), status=404)
    response.headers["Cache-Control"] = "no-store"
    return response


def action_index(calendar: Calendar) -> Mapping[str, tuple[Event, ...]]:
    """Each action's events in time order (cached per calendar version)."""
    cached = _ACTIONS.get(calendar.version)
    if cached is None:
        grouped: dict[str, list[Event]] = {}
        for event in calendar:
            if event.action:
                grouped.setdefault(event.action, []).append(event)
        tz = calendar.tz
        cached = {
            name: tuple(sorted(events, key=lambda e: (e.start_utc(tz), e.id)))
            for name, events in grouped.items()
        }
        if len(_ACTIONS) > 4:
            _ACTIONS.clear()
        _ACTIONS[calendar.version] = cached
    return cached


_ACTIONS: dict[str, Mapping[str, tuple[Event, ...]]] = {}


def status(event: Event) -> Badge:
    """The event's status badge as of the page's moment."""
    snap = services().live.snapshot
    tz = snap.calendar.tz if snap is not None else dt.UTC
    return badge(event, now(), tz)


def deadline_row(event: Event, at: dt.datetime, tz: dt.tzinfo) -> dict[str, Any]:
    """What a row of the deadlines table shows: when (in the deadline's own zone), how long, how sure."""
    assert event.deadline_at is not None
    return {
        "event": event,
        "when": deadline_text(event),
        "zone": deadline_zone(event),
        "left": countdown(event.deadline_at - at),
        "utc": utc_text(event.deadline_at),
        "badge": badge(event, at, tz),
        "countries": [country_name(c) for c in event.countries],
    }


def under_way(event: Event, at: dt.datetime, tz: dt.tzinfo) -> str | None:
    """For an event that has begun and not ended (a two-day summit, an open comment period): until when."""
    start, end = event.start_utc(tz), event.end_utc(tz)
    if end is None or not start <= at < end:
        return None
    return countdown(end - at).replace("in ", "ends in ", 1)


_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # raw HTML in a description is shown, not run


def markdown_inline(text: str | None) -> Markup:
    """One paragraph of CommonMark (`code`, *emphasis*, links) as HTML; raw HTML in it is escaped."""
    return Markup(_MARKDOWN.renderInline(text or ""))  # noqa: S704 - markdown-it escapes with html off


def init_app(app: Flask) -> None:
    """Give every template the wording helpers (status badges, names, dotted codes, Markdown)."""
    app.jinja_env.filters["markdown"] = markdown_inline

    @app.context_processor
    def helpers() -> dict[str, Any]:
        return {
            "status": status,
            "country_name": country_name,
            "authority_name": lambda a: AUTHORITY_NAMES.get(a, str(a)),
            "dotted": dotted_hs,
            "zone_city": zone_city,
        }
