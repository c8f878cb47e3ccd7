"""`GET /calendar.ics`: the subscription feed, filtered by query, with strong validators.

The Flask view answers every request it sees. `FeedFastPath` sits in front of Flask (WSGI middleware,
like werkzeug's SharedDataMiddleware) and answers only repeats of a request already rendered in this
generation — a 200 from memory or a 304 — without building a Flask request; that keeps the path
calendar clients hit every hour close to a static file server's cost.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request

from calendar_service.application.feeds import FEED_PATH, build_feed, choices_from_query
from calendar_service.web.errorhandlers import calendar_not_loaded
from calendar_service.web.extension import web_parts
from calendar_service.web.feedcache import FeedCache
from calendar_service.web.feedresponses import RenderedFeed, naming_ignored, rendered
from calendar_service.web.openapi import operation
from calendar_service.web.schemas import FeedQuery

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from calendar_service.adapters.live import LiveCalendar
    from calendar_service.web.prometheus import Metrics

bp = Blueprint("feeds", __name__)

__all__ = ["FEED_PATH", "FeedFastPath", "bp", "calendar_feed", "public_base"]


def public_base(base_url: str, host_url: str) -> str:
    """The https address to advertise: the configured base URL, else the one the request came to."""
    return (base_url or host_url).rstrip("/")


@bp.get(FEED_PATH)
@operation(
    FEED_PATH,
    tag="feeds",
    query=FeedQuery,
    content_type="text/calendar",
    errors=(400, 503),
    extra_statuses={304: "Not Modified: the copy named by If-None-Match / If-Modified-Since is current"},
    headers={
        "ETag": "Strong validator: a hash of the body",
        "Last-Modified": "When any published event last changed",
    },
)
def calendar_feed() -> Response:
    """The iCalendar feed; 304 when the client's copy is current, 400 problem for a bad filter."""
    parts = web_parts()
    live = parts.services.live
    live.maybe_check()
    snapshot = live.snapshot
    if snapshot is None:
        return calendar_not_loaded()
    alias = (request.headers.get("Host", ""), request.query_string.decode("latin-1"))
    entry = parts.feeds.cached(snapshot.generation, alias)
    if entry is None:
        params = {name: request.args.getlist(name) for name in request.args}
        choices = choices_from_query(params)  # a FilterError is a 400 problem (errorhandlers.py)
        base = public_base(current_app.config["TRADE_CALENDAR_BASE_URL"], request.host_url)
        refresh = parts.services.settings.feed_refresh

        def render() -> RenderedFeed:
            started = time.perf_counter()
            feed = build_feed(snapshot, choices, base, refresh=refresh)
            parts.metrics.observe_render(time.perf_counter() - started)
            return rendered(feed)

        # The canonical address names the body: every spelling of these choices shares one render.
        shared = parts.feeds.get(snapshot.generation, choices.url(base), render)
        entry = naming_ignored(shared, choices.ignored)
        parts.feeds.remember(snapshot.generation, alias, entry)
    if entry.is_fresh_for(request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")):
        return Response(status=304, headers=entry.headers_304)
    return Response(entry.body, status=200, headers=entry.headers_200)


class FeedFastPath:
    """Answer repeated feed requests straight from the cache; pass everything else to the app."""

    def __init__(
        self, app: WSGIApplication, live: LiveCalendar, cache: FeedCache[RenderedFeed], metrics: Metrics
    ) -> None:
        self.app = app
        self.live = live
        self.cache = cache
        self.hit_200 = metrics.request_counter("feeds.calendar_feed", 200)
        self.hit_304 = metrics.request_counter("feeds.calendar_feed", 304)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve a cache hit for GET/HEAD /calendar.ics, or delegate."""
        if environ.get("PATH_INFO") == FEED_PATH:
            method = environ.get("REQUEST_METHOD")
            if method == "GET" or method == "HEAD":
                self.live.maybe_check()
                snapshot = self.live.snapshot
                if snapshot is not None:
                    alias = (environ.get("HTTP_HOST", ""), environ.get("QUERY_STRING", ""))
                    entry = self.cache.cached(snapshot.generation, alias)
                    if entry is not None:
                        return self._answer(entry, environ, start_response, method == "HEAD")
        return self.app(environ, start_response)

    def _answer(
        self, entry: RenderedFeed, environ: dict[str, Any], start_response: StartResponse, head: bool
    ) -> Iterable[bytes]:
        if entry.is_fresh_for(environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE")):
            self.hit_304.inc()
            start_response("304 Not Modified", list(entry.headers_304))
            return []
        self.hit_200.inc()
        start_response("200 OK", list(entry.headers_200))
        return [] if head else [entry.body]
