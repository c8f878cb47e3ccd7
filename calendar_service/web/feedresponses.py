"""A rendered feed as an HTTP answer: ready-made headers for 200 and 304, and conditional requests.

Built once per cached feed (`web/feedcache.py` keeps them), so answering a repeat request only compares
validators; the fast path in `web/feeds.py` writes these headers straight to WSGI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from email.utils import format_datetime, parsedate_to_datetime

from calendar_service.application.feeds import Feed
from calendar_service.web.ignored import HEADER, header_value

CONTENT_TYPE = "text/calendar; charset=utf-8"
# Calendar clients poll; "no-cache" lets them keep the body but revalidate every time, which is a 304.
CACHE_CONTROL = "public, no-cache"

Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """A feed as an HTTP answer: the body, its validators and ready-made headers for 200 and 304."""

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


def rendered(feed: Feed) -> RenderedFeed:
    """The answer to a request for `feed`, its header lists made once."""
    last_modified = format_datetime(feed.last_modified, usegmt=True)
    common = [("ETag", feed.etag), ("Last-Modified", last_modified), ("Cache-Control", CACHE_CONTROL)]
    headers_200 = [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(feed.body))),
        ("Content-Disposition", 'inline; filename="trade-calendar.ics"'),
        ("X-Content-Type-Options", "nosniff"),
        *common,
    ]
    epoch = int(feed.last_modified.timestamp())
    return RenderedFeed(feed.body, feed.etag, last_modified, epoch, headers_200, common)


def naming_ignored(entry: RenderedFeed, names: Iterable[str]) -> RenderedFeed:
    """The entry with a `Trade-Calendar-Ignored` header for `names` (the same entry when there are none)."""
    value = header_value(names)
    if value is None:
        return entry
    named = (HEADER, value)
    return replace(entry, headers_200=[*entry.headers_200, named], headers_304=[*entry.headers_304, named])
