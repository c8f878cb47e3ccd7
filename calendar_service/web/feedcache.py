"""Rendered feeds kept per (data version, publication state, filter, alarms), and conditional answers.

A feed is rendered once per snapshot generation and canonical filter; a second, raw index maps the
exact `Host` + query string a client sends to the same entry, so a repeat request costs two dict
lookups. Both indexes are dropped as a whole when the live calendar swaps in a new generation.

Parameters the feed does not take (`utm_source`, a cache-busting `_=...`) are not part of the key:
they change neither the body nor its ETag, only the `Trade-Calendar-Ignored` header of that spelling.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

from calendar_service.adapters.live import Snapshot
from calendar_service.core.filters import FILTER_PARAMETERS, parse_filter
from calendar_service.render.ical import parse_alarms, render_feed
from calendar_service.web.ignored import HEADER, header_value, ignored

CONTENT_TYPE = "text/calendar; charset=utf-8"
# Calendar clients poll; "no-cache" lets them keep the body but revalidate every time, which is a 304.
CACHE_CONTROL = "public, no-cache"
FEED_PARAMETERS = (*FILTER_PARAMETERS, "alarm")

Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """One rendered feed body with the validators and ready-made headers for 200 and 304."""

    body: bytes
    etag: str
    last_modified: str
    last_modified_epoch: int
    headers_200: Headers
    headers_304: Headers

    def is_fresh_for(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """Whether the client's copy is current (RFC 9110 §13.2.2: If-None-Match wins when present)."""
        if if_none_match is not None:
            if if_none_match == self.etag:
                return True
            tags = (tag.strip() for tag in if_none_match.split(","))
            # Weak comparison for If-None-Match (RFC 9110 §13.1.2): a W/ prefix does not matter.
            return any(tag == "*" or tag.removeprefix("W/") == self.etag for tag in tags)
        if if_modified_since is not None:
            if if_modified_since == self.last_modified:
                return True
            try:
                since = parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError, IndexError):
                return False  # an invalid date is ignored (RFC 9110 §13.1.3)
            return since.tzinfo is not None and self.last_modified_epoch <= since.timestamp()
        return False


def make_entry(body: bytes, snapshot: Snapshot) -> RenderedFeed:
    """Compute the strong ETag (hash of the body) and the header lists once."""
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    modified = snapshot.last_modified.replace(microsecond=0)
    last_modified = format_datetime(modified, usegmt=True)
    common = [("ETag", etag), ("Last-Modified", last_modified), ("Cache-Control", CACHE_CONTROL)]
    headers_200 = [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("Content-Disposition", 'inline; filename="trade-calendar.ics"'),
        ("X-Content-Type-Options", "nosniff"),
        *common,
    ]
    return RenderedFeed(body, etag, last_modified, int(modified.timestamp()), headers_200, common)


def naming_ignored(entry: RenderedFeed, names: Sequence[str]) -> RenderedFeed:
    """The entry with a `Trade-Calendar-Ignored` header for `names` (the same entry when there are none)."""
    value = header_value(names)
    if value is None:
        return entry
    named = (HEADER, value)
    return replace(entry, headers_200=[*entry.headers_200, named], headers_304=[*entry.headers_304, named])


class FeedCache:
    """An LRU of rendered feeds for the current generation, with a raw-query alias index."""

    def __init__(
        self,
        *,
        maxsize: int = 256,
        refresh: str = "PT1H",
        on_render: Callable[[float], None] | None = None,
    ) -> None:
        self.maxsize = maxsize
        self.refresh = refresh
        self.on_render = on_render
        self.generation = -1
        self.alias: dict[tuple[str, str], RenderedFeed] = {}
        self._entries: OrderedDict[tuple[object, ...], RenderedFeed] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, snapshot: Snapshot, host: str, query: str) -> RenderedFeed | None:
        """The entry for this exact request if it was answered before in this generation."""
        if self.generation != snapshot.generation:
            return None
        return self.alias.get((host, query))

    def get(
        self, snapshot: Snapshot, host: str, query: str, params: Mapping[str, Sequence[str]], base: str
    ) -> RenderedFeed:
        """The feed for `params`, rendered now if no equivalent request was seen; FilterError if bad."""
        hit = self.cached(snapshot, host, query)
        if hit is not None:
            return hit
        filter_params = {name: list(params[name]) for name in FILTER_PARAMETERS if name in params}
        alarms = parse_alarms(list(params.get("alarm", ())))
        event_filter = parse_filter(filter_params)
        alarm_texts = tuple(alarm.text for alarm in alarms)
        key = (snapshot.generation, base, event_filter.cache_key(), tuple(sorted(alarm_texts)))
        with self._lock:
            if self.generation != snapshot.generation:
                self.generation = snapshot.generation
                self._entries.clear()
                self.alias = {}  # a new dict: readers holding the old one finish undisturbed
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            query_items = [*sorted(event_filter.to_query().items()), ("alarm", sorted(alarm_texts))]
            canonical = urlencode([(k, ",".join(v)) for k, v in query_items if v])
            feed_url = base.rstrip("/") + "/calendar.ics" + (f"?{canonical}" if canonical else "")
            started = time.perf_counter()
            body = render_feed(
                snapshot.calendar,
                snapshot.published,
                event_filter,
                alarms=alarms,
                refresh=self.refresh,
                feed_url=feed_url,
                event_base=base.rstrip("/"),  # each event's URL is its page on this site
            )
            if self.on_render is not None:
                self.on_render(time.perf_counter() - started)
            entry = make_entry(body, snapshot)
        spelled = naming_ignored(entry, ignored(params, FEED_PARAMETERS))
        with self._lock:
            if self.generation == snapshot.generation:
                self._entries[key] = entry
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
                if len(self.alias) >= self.maxsize * 4:
                    self.alias = {}  # bounded: many spellings of few filters start over cheaply
                self.alias[(host, query)] = spelled
        return spelled
