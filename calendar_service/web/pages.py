"""The home page (feed addresses, a filtered-feed builder, upcoming deadlines) and `/docs`."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, render_template, request

from ..clock import Clock
from ..errors import FilterError
from ..filters import FILTER_PARAMETERS, known_values, parse_filter
from ..live import LiveCalendar
from ..model import Anchor, Authority, Importance, Kind, Status
from ..store import Event
from .feeds import FEED_PATH, public_base
from .ignored import takes
from .openapi import document

bp = Blueprint("pages", __name__)


def feed_addresses(base: str, query: str = "") -> dict[str, str]:
    """The https and webcal forms of a feed address (webcal:// makes calendar apps subscribe)."""
    https = f"{base}{FEED_PATH}" + (f"?{query}" if query else "")
    scheme, _, rest = https.partition("://")
    return {"https": https, "webcal": f"webcal://{rest}" if scheme in {"http", "https"} else https}


@bp.get("/")
@takes(*FILTER_PARAMETERS, "alarm")
def home() -> str:
    """What this is, the feed addresses, a filtered-feed builder and the next deadlines."""
    live: LiveCalendar = current_app.extensions["trade_calendar.live"]
    clock: Clock = current_app.extensions["trade_calendar.clock"]
    live.maybe_check()
    snapshot = live.snapshot
    base = public_base(current_app.config["TRADE_CALENDAR_BASE_URL"], request.host_url)
    chosen = {name: request.args.getlist(name) for name in (*FILTER_PARAMETERS, "alarm")}
    built, error = None, None
    if snapshot is not None and any(chosen.values()):
        try:
            event_filter = parse_filter(
                {k: v for k, v in chosen.items() if k != "alarm" and v}
            )
            query = list(event_filter.to_query().items())
            alarms = [a for a in chosen["alarm"] if a]
            if alarms:
                from ..feeds import parse_alarms

                query.append(("alarm", [a.text for a in parse_alarms(alarms)]))
            built = feed_addresses(base, urlencode([(k, ",".join(v)) for k, v in query], safe=","))
        except FilterError as exc:
            error = str(exc)
    now = clock.now()
    upcoming = []
    if snapshot is not None:
        due = [e for e in snapshot.calendar if e.is_live and e.deadline_at and e.deadline_at >= now]
        due.sort(key=lambda e: e.deadline_at or now)
        upcoming = [
            (e, _when_label(e), _days_left(e.deadline_at - now) if e.deadline_at else "") for e in due[:10]
        ]
    known = known_values(snapshot.calendar) if snapshot else {"country": frozenset(), "tag": frozenset()}
    options = {
        "country": sorted(known["country"]),
        "kind": [k.value for k in Kind],
        "importance": [i.value for i in Importance],
        "status": [s.value for s in Status],
        "authority": [a.value for a in Authority],
        "tag": sorted(known["tag"]),
    }
    return render_template(
        "home.html",
        snapshot=snapshot,
        feeds=feed_addresses(base),
        built=built,
        error=error,
        chosen=chosen,
        options=options,
        upcoming=upcoming,
        host=urlsplit(base).netloc,
    )


def _when_label(event: Event) -> str:
    """The deadline as the people concerned read it: local wall clock and zone, or the day itself."""
    if event.deadline is Anchor.END and event.end is not None:
        moment = event.end
        if not isinstance(moment, dt.datetime):  # exclusive DTEND: the last day is the one before
            return f"{moment - dt.timedelta(days=1):%Y-%m-%d} (end of day)"
    else:
        moment = event.start
    if isinstance(moment, dt.datetime):
        zone = getattr(moment.tzinfo, "key", "")
        utc = moment.astimezone(dt.UTC)
        return f"{moment:%Y-%m-%d %H:%M} {zone} ({utc:%H:%M} UTC)"
    return f"{moment:%Y-%m-%d} (all day)"


def _days_left(delta: dt.timedelta) -> str:
    days = delta.days
    if days >= 2:
        return f"in {days} days"
    hours = int(delta.total_seconds() // 3600)
    return f"in {hours} hours" if hours >= 1 else "within the hour"


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
