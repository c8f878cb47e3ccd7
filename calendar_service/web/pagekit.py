"""What the HTML pages share: the snapshot and clock, the public address, validators, the 404 page.

Pages answer conditional requests like the feed: a strong ETag that is a hash of the body (which holds
the data version) and Last-Modified from the publication state, or the minute the page was drawn when
that is later (countdowns and "upcoming" move with the clock, not only with the data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

from flask import Response, current_app, render_template, request

from calendar_service.adapters.live import Snapshot
from calendar_service.core.calendar import Calendar, Event
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
    """The app clock's time."""
    return services().clock.now()


def base_url() -> str:
    """The public address: TRADE_CALENDAR_BASE_URL, else the one the request came to."""
    return public_base(current_app.config["TRADE_CALENDAR_BASE_URL"], request.host_url)


def page(
    body: str | bytes, snap: Snapshot | None, at: dt.datetime, *, status: int = 200, mimetype: str = HTML
) -> Response:
    """A response with a strong ETag and Last-Modified, answering 304 to a current copy."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    response = Response(data, status=status, content_type=mimetype)
    response.headers["Cache-Control"] = "public, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if snap is None:
        return response
    response.set_etag(hashlib.blake2b(data, digest_size=16).hexdigest())
    drawn = at.astimezone(dt.UTC).replace(second=0, microsecond=0)
    response.last_modified = max(snap.last_modified.replace(microsecond=0), drawn)
    if status == 200:
        response.make_conditional(request)
    return response


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


def countdown(delta: dt.timedelta) -> str:
    """`in 12 days`, `in 5 hours`, `within the hour`, or how long ago for a past moment."""
    if delta < dt.timedelta(0):
        past = -delta
        return f"{past.days} days ago" if past.days >= 2 else "passed"
    if delta.days >= 2:
        return f"in {delta.days} days"
    hours = int(delta.total_seconds() // 3600)
    return f"in {hours} hours" if hours >= 1 else "within the hour"
