"""RSS 2.0 and Atom 1.0 feeds as `Document`s, read with feedparser (a maintained parser of both formats
and their many dialects; it never executes what it reads).

What we rely on, per item (feedparser's normalised names): `id` (RSS `guid`, Atom `id`; else `link`),
`title`, `link`, `published_parsed`/`updated_parsed` (RSS `pubDate`, Atom `published`/`updated`) and
`summary` (RSS `description`, Atom `summary`/`content`). RSS 2.0: https://www.rssboard.org/rss-specification;
Atom: RFC 4287 §4.1.2. Only the first `max_items` items are used; the fetcher bounds the bytes read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html.parser
from typing import Any

from calendar_service.core.proposals import Document
from calendar_service.core.watch import FeedWatch


class FeedUnreadable(Exception):
    """The answer is not an RSS or Atom feed."""


def parse_feed(body: bytes, watch: FeedWatch) -> list[Document]:
    """The feed's items as Documents, newest as the feed orders them, at most `watch.max_items`."""
    import feedparser  # loaded only when a feed is read

    parsed = feedparser.parse(body)
    entries = parsed.get("entries") or []
    if parsed.get("bozo") and not entries:
        raise FeedUnreadable(f"not an RSS or Atom feed ({type(parsed.get('bozo_exception')).__name__})")
    if not parsed.get("version") and not entries:
        raise FeedUnreadable("not an RSS or Atom feed (no channel or feed element)")
    publisher = watch.publisher or _plain(str(parsed.get("feed", {}).get("title") or "")) or None
    documents = []
    for entry in entries[: watch.max_items]:
        document = _document(entry, watch, publisher)
        if document is not None:
            documents.append(document)
    return documents


def _document(entry: Any, watch: FeedWatch, publisher: str | None) -> Document | None:
    link = str(entry.get("link") or "").strip()
    key = str(entry.get("id") or link).strip()
    title = _plain(str(entry.get("title") or ""))
    if not key or not title:
        return None
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = dt.date(*stamp[:3]) if stamp else None
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return Document(
        id=f"feed-{watch.id}-{digest}",
        watch_id=watch.id,
        title=title[:300],
        url=link if link.startswith(("https://", "http://")) else None,
        published=published,
        publisher=publisher,
        abstract=_plain(str(entry.get("summary") or ""))[:2000] or None,
        action=watch.action,
        countries=tuple(watch.countries),
    )


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain(markup: str) -> str:
    """The text of a title or summary (feeds often carry escaped HTML there)."""
    reader = _Text()
    reader.feed(markup[:20000])
    reader.close()
    return " ".join("".join(reader.parts).split())
