"""The subscription feed: what a query asks for, the feed's one address, and the calendar it renders.

    choices = choices_from_query(params)              # FilterError names the bad parameter
    feed = build_feed(snapshot, choices, base, refresh="PT1H")

A feed is a function of the snapshot, the choices, the public base address and the refresh interval:
there is no clock in it (DTSTAMP is each event's LAST-MODIFIED), so the same inputs give the same bytes
and the same ETag on every server. `web/feeds.py` turns a request into `choices` and a `Feed` into a
response; `web/feedcache.py` keeps the responses, keyed by the snapshot's generation and `Feed.url`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from calendar_service.adapters.live import Snapshot
from calendar_service.core.filters import FILTER_PARAMETERS, EventFilter, parse_filter
from calendar_service.core.timing import Duration
from calendar_service.render.ical import parse_alarms, render_feed

FEED_PATH = "/calendar.ics"
FEED_PARAMETERS = (*FILTER_PARAMETERS, "alarm")


@dataclass(frozen=True, slots=True)
class FeedChoices:
    """What a subscriber chose: the events (a filter) and the alarms, plus the parameters not taken."""

    event_filter: EventFilter
    alarms: tuple[Duration, ...] = ()
    ignored: tuple[str, ...] = ()  # `utm_source`, a cache-buster `_`: neither the body nor its address

    @property
    def query(self) -> str:
        """The canonical query string: every spelling of the same choices gives the same one."""
        alarms = sorted(alarm.text for alarm in self.alarms)
        items = [*sorted(self.event_filter.to_query().items()), ("alarm", alarms)]
        return urlencode([(name, ",".join(values)) for name, values in items if values])

    def url(self, base: str) -> str:
        """The feed's address under the public `base` (what SOURCE advertises, RFC 7986 §5.8)."""
        query = self.query
        return base.rstrip("/") + FEED_PATH + (f"?{query}" if query else "")


def choices_from_query(params: Mapping[str, Sequence[str]]) -> FeedChoices:
    """Read the feed's query parameters (each name with all its values); FilterError names a bad one."""
    filter_params = {name: list(params[name]) for name in FILTER_PARAMETERS if name in params}
    alarms = parse_alarms(list(params.get("alarm", ())))
    ignored = tuple(dict.fromkeys(name for name in params if name not in FEED_PARAMETERS))
    return FeedChoices(parse_filter(filter_params), alarms, ignored)


@dataclass(frozen=True, slots=True)
class Feed:
    """A rendered feed with its validators and the address it is published at."""

    body: bytes
    etag: str  # strong (RFC 9110 §8.8.3): a hash of the body, quoted
    last_modified: dt.datetime  # when any published event last changed, to the second
    url: str


def build_feed(snapshot: Snapshot, choices: FeedChoices, base: str, *, refresh: str = "PT1H") -> Feed:
    """Render the feed of `snapshot` that `choices` select, published under the public `base` address."""
    base = base.rstrip("/")
    url = choices.url(base)
    body = render_feed(
        snapshot.calendar,
        snapshot.published,
        choices.event_filter,
        alarms=choices.alarms,
        refresh=refresh,
        feed_url=url,
        event_base=base,  # each event's URL is its page on this site
    )
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    # HTTP dates have whole seconds (RFC 9110 §5.6.7): a finer Last-Modified could never compare equal.
    return Feed(body, etag, snapshot.last_modified.replace(microsecond=0), url)
