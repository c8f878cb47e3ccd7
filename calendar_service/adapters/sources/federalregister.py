"""The Federal Register API client: trade agencies' documents as `Document`s, page after page.

Written against the API's documentation (https://www.federalregister.gov/developers/documentation/api/v1,
"Document Search", GET /documents.json), no key needed. What we rely on:
- request: `conditions[agencies][]` (agency slugs), `conditions[type][]` (RULE, PRORULE, NOTICE, PRESDOCU),
  `conditions[publication_date][gte]` (YYYY-MM-DD), `conditions[term]`, `fields[]` (the fields wanted),
  `per_page` (at most 1000), `order=newest`;
- response: `count`, `total_pages`, `next_page_url` (absent or null on the last page) and `results`, each
  with the fields asked for: `document_number`, `title`, `type`, `abstract`, `html_url`,
  `publication_date`, `effective_on`, `comments_close_on`, `citation` ("91 FR 12345"), `agencies`
  (objects with `name` and `slug`), and `dates` (the document's DATES paragraph as prose: hearing dates
  and other deadlines appear only there).
Dates in the prose are read with dateparser (a maintained natural-language date parser) and marked as
parsed from text; a date it cannot read is left out, never guessed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from calendar_service.adapters.sources.fetcher import PoliteFetcher
from calendar_service.core.proposals import DatedText, DateKind, Document
from calendar_service.core.watch import FederalRegisterWatch

FIELDS = (
    "document_number", "title", "type", "abstract", "html_url", "publication_date", "effective_on",
    "comments_close_on", "citation", "agencies", "dates",
)  # fmt: skip
PER_PAGE = 100
MAX_PAGES = 20  # 2,000 documents a run: far more than the trade agencies publish in a month
DEFAULT_LOOKBACK = dt.timedelta(days=30)
_SENTENCE = re.compile(r"(?<=[.;])\s+")
_TEXT_KINDS: tuple[tuple[re.Pattern[str], DateKind], ...] = (
    (re.compile(r"\bhearings?\b", re.I), "hearing"),
    (re.compile(r"\bcomments?\b|\bsubmi", re.I), "comments-close"),
    (re.compile(r"\beffective\b|\bapplicab", re.I), "effective"),
)


class FeedError(Exception):
    """A watch's answer could not be used (HTTP error, not JSON, not the documented shape)."""


@dataclass(frozen=True)
class SearchResult:
    """The documents read, and how many pages it took."""

    documents: list[Document]
    pages: int
    count: int | None


def search_url(watch: FederalRegisterWatch, today: dt.date) -> str:
    """The first page's URL for `watch`."""
    since = watch.since or today - DEFAULT_LOOKBACK
    params: list[tuple[str, str]] = [("per_page", str(PER_PAGE)), ("order", "newest")]
    params += [("conditions[agencies][]", slug) for slug in watch.agencies]
    params += [("conditions[type][]", kind) for kind in watch.types]
    params.append(("conditions[publication_date][gte]", since.isoformat()))
    if watch.term:
        params.append(("conditions[term]", watch.term))
    params += [("fields[]", name) for name in FIELDS]
    return f"{watch.base_url.rstrip('/')}/documents.json?{urlencode(params)}"


async def search(fetcher: PoliteFetcher, watch: FederalRegisterWatch, today: dt.date) -> SearchResult:
    """Every document the watch's search finds, following `next_page_url` (same origin only)."""
    url: str | None = search_url(watch, today)
    origin = _origin(watch.base_url)
    documents: list[Document] = []
    pages, count = 0, None
    while url is not None and pages < MAX_PAGES:
        if _origin(url) != origin:
            raise FeedError(f"next_page_url leads off {origin}; not followed")
        response = await fetcher.fetch(url)
        if response.kind != "ok":
            raise FeedError(f"page {pages + 1}: {response.error or response.kind}")
        try:
            page = json.loads(response.body)
        except ValueError as exc:
            raise FeedError(f"page {pages + 1} is not JSON ({exc})") from None
        if not isinstance(page, dict) or not isinstance(page.get("results", []), list):
            raise FeedError(f"page {pages + 1} is not a documents.json answer (no `results` list)")
        pages += 1
        count = page.get("count") if isinstance(page.get("count"), int) else count
        results: list[Any] = page.get("results") or []
        for item in results:
            document = to_document(item, watch)
            if document is not None:
                documents.append(document)
        next_url = page.get("next_page_url")
        url = next_url if isinstance(next_url, str) and next_url else None
    return SearchResult(documents, pages, count)


def to_document(item: Any, watch: FederalRegisterWatch) -> Document | None:
    """One `results` entry as a Document; None when it lacks a document number or title."""
    if not isinstance(item, dict):
        return None
    number, title = _text(item.get("document_number")), _text(item.get("title"))
    if not number or not title:
        return None
    published = _date(item.get("publication_date"))
    dates: list[DatedText] = []
    fields: tuple[tuple[str, DateKind], ...] = (
        ("comments_close_on", "comments-close"),
        ("effective_on", "effective"),
    )
    for name, kind in fields:
        value = _date(item.get(name))
        if value is not None:
            dates.append(DatedText(kind, value))
    prose = _text(item.get("dates"))
    if prose:
        have = {d.kind for d in dates}
        dates.extend(d for d in dates_in_text(prose, published) if d.kind not in have or d.kind == "hearing")
    listed = item.get("agencies")
    agencies: list[Any] = listed if isinstance(listed, list) else []
    names = [str(a.get("name")) for a in agencies if isinstance(a, dict) and a.get("name")]
    html_url = _text(item.get("html_url"))
    return Document(
        id=f"fr-{number}",
        watch_id=watch.id,
        title=" ".join(title.split()),
        url=html_url if html_url and html_url.startswith(("https://", "http://")) else None,
        published=published,
        publisher="; ".join(names[:3]) + " (Federal Register)" if names else "Federal Register",
        number=number,
        citation=_text(item.get("citation")),
        abstract=_text(item.get("abstract")),
        doc_type=_text(item.get("type")),
        dates=tuple(dates),
        action=watch.action,
        countries=tuple(watch.countries),
    )


def dates_in_text(prose: str, published: dt.date | None) -> list[DatedText]:
    """Dates the DATES paragraph states, one per sentence at most, with the sentence's kind."""
    from dateparser.search import search_dates  # loaded only when a watch runs

    settings: dict[str, Any] = {
        "REQUIRE_PARTS": ["day", "month", "year"],  # "January 5" alone is not a date we can place
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found: list[DatedText] = []
    for sentence in _SENTENCE.split(prose[:2000])[:12]:
        kind: DateKind = next((k for pattern, k in _TEXT_KINDS if pattern.search(sentence)), "in-text")
        try:
            hits = search_dates(sentence, languages=["en"], settings=settings) or []
        except Exception:  # dateparser on odd prose: the date stays unread, never guessed
            hits = []
        for text, moment in hits[:1]:
            if published is None or moment.date() >= published:
                found.append(DatedText(kind, moment.date(), from_text=True, text=text))
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
