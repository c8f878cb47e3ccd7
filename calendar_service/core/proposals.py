"""Turn a document read from an official feed into a proposal: a ready event entry, or a change to one.

A proposal is never written into the events file by itself; a curator accepts it (`review --accept`).
A document an event already cites (same URL, or its Federal Register number in a source) is "covered"
and not proposed again. A document that names an event's instrument (an executive order, a
proclamation, an FR citation) and gives another date for it is proposed as a change to that event,
shown as `diff` shows a move. Pure: the adapters read the documents, this module decides.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.model import Kind, Status

ProposalKind = Literal["new", "change"]
DateKind = Literal["comments-close", "effective", "hearing", "in-text", "published"]
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "from",
        "with",
        "that",
        "this",
        "into",
        "under",
        "over",
        "their",
        "which",
        "these",
        "those",
        "other",
        "than",
        "such",
        "shall",
        "will",
        "would",
        "have",
        "been",
        "being",
        "notice",
        "rule",
        "final",
        "proposed",
        "request",
        "comments",
        "comment",
        "united",
        "states",
        "section",
        "office",
        "department",
        "trade",
        "federal",
        "register",
    ]
)
# Ways documents name instruments: "Executive Order 14257", "EO 14257", "Proclamation 10896", "90 FR 15041".
_INSTRUMENTS = (
    (re.compile(r"\b(?:executive\s+order|e\.?\s?o\.?)\s*(?:no\.\s*)?(\d{5})\b", re.I), "eo {}"),
    (re.compile(r"\bproclamation\s*(?:no\.\s*)?(\d{4,5})\b", re.I), "proclamation {}"),
    (re.compile(r"\b(\d{2,3})\s*fr\s*(\d{3,6})\b", re.I), "{} fr {}"),
)


@dataclass(frozen=True)
class DatedText:
    """A date a document states: which kind, and whether it was parsed from prose."""

    kind: DateKind
    date: dt.date
    from_text: bool = False  # True when read out of the document's `dates` prose, not a field
    text: str = ""


@dataclass(frozen=True)
class Document:
    """One document from a watch: a Federal Register document or a feed item."""

    id: str  # stable: "fr-<document number>" or "feed-<watch>-<hash of the item's id>"
    watch_id: str
    title: str
    url: str | None
    published: dt.date | None = None
    publisher: str | None = None
    number: str | None = None  # Federal Register document number
    citation: str | None = None  # e.g. "91 FR 12345"
    abstract: str | None = None
    doc_type: str | None = None
    dates: tuple[DatedText, ...] = ()
    action: str | None = None  # the watch's default action
    countries: tuple[str, ...] = ("US",)


@dataclass(frozen=True)
class Proposal:
    """A new entry (`entry` is the event as YAML-ready data) or a change to `event_id`."""

    id: str
    watch_id: str
    kind: ProposalKind
    title: str
    url: str | None
    entry: dict[str, Any]
    event_id: str | None = None
    change: dict[str, Any] | None = None  # {"was": "YYYY-MM-DD", "now": "YYYY-MM-DD"} for a move
    state: str = "open"  # "open", "covered" (an event already cites it), "accepted"
    created_at: dt.datetime | None = field(default=None, compare=False)


def instrument_refs(text: str) -> set[str]:
    """The instruments `text` names, normalised ("eo 14257", "proclamation 10896", "90 fr 15041")."""
    found: set[str] = set()
    for pattern, shape in _INSTRUMENTS:
        for match in pattern.finditer(text):
            found.add(shape.format(*match.groups()))
    return found


def propose(document: Document, calendar: Calendar) -> Proposal:
    """The proposal `document` makes against `calendar` (state "covered" when an event cites it)."""
    primary = _primary_date(document)
    if _covered(document, calendar):
        return _new(document, calendar, primary, state="covered")
    named = instrument_refs(f"{document.title}\n{document.abstract or ''}")
    for event in calendar.events:
        if not event.is_live or not event.instrument or primary is None or not event.all_day:
            continue
        if named & instrument_refs(event.instrument) and event.start != primary.date:
            return _change(document, event, primary)
    return _new(document, calendar, primary)


def _covered(document: Document, calendar: Calendar) -> bool:
    number = (document.number or "").lower()
    for event in calendar.events:
        for source in event.sources:
            if document.url and source.url == document.url:
                return True
            if number and number in f"{source.url or ''} {source.title}".lower():
                return True
    return False


def _primary_date(document: Document) -> DatedText | None:
    order: tuple[DateKind, ...] = ("comments-close", "hearing", "effective", "in-text", "published")
    for kind in order:
        for dated in document.dates:
            if dated.kind == kind:
                return dated
    if document.published is not None:
        return DatedText("published", document.published)
    return None


_KIND_OF_DATE: dict[DateKind, Kind] = {
    "comments-close": Kind.DEADLINE,
    "hearing": Kind.HEARING,
    "effective": Kind.REGULATION,
    "in-text": Kind.ANNOUNCEMENT,
    "published": Kind.ANNOUNCEMENT,
}
_TITLE_PREFIX: dict[DateKind, str] = {
    "comments-close": "Comments due: ",
    "hearing": "Hearing: ",
    "effective": "Takes effect: ",
    "in-text": "",
    "published": "Published: ",
}


def _new(document: Document, calendar: Calendar, primary: DatedText | None, state: str = "open") -> Proposal:
    kind = _KIND_OF_DATE[primary.kind] if primary else Kind.ANNOUNCEMENT
    if kind is Kind.REGULATION and re.search(r"\b(tariff|duty|duties)\b", document.title, re.I):
        kind = Kind.TARIFF
    prefix = _TITLE_PREFIX[primary.kind] if primary else ""
    title = (prefix + document.title)[:200]
    entry: dict[str, Any] = {
        "id": _unique_id(title, primary.date if primary else None, calendar),
        "title": title,
        "kind": kind.value,
        "status": Status.TENTATIVE.value,
        "countries": list(document.countries),
    }
    action = guess_action(document, calendar)
    if action:
        entry["action"] = action
    if document.citation:
        entry["instrument"] = document.citation
    if primary is not None:
        entry["date"] = primary.date.isoformat()
    entry["description"] = _description(document)
    entry["proposed_from"] = document.id
    entry["sources"] = [_source(document)]
    return Proposal(document.id, document.watch_id, "new", title, document.url, entry, state=state)


def _change(document: Document, event: Event, primary: DatedText) -> Proposal:
    was = event.start if isinstance(event.start, dt.date) else None
    change = {
        "was": None if was is None else was.isoformat(),
        "now": primary.date.isoformat(),
        "note": f"{_TITLE_PREFIX[primary.kind]}{document.title}"[:300],
        "from_text": primary.from_text,
    }
    entry = {"date": primary.date.isoformat(), "source": _source(document), "proposed_from": document.id}
    return Proposal(
        document.id, document.watch_id, "change", document.title[:200], document.url, entry, event.id, change
    )


def _source(document: Document) -> dict[str, Any]:
    source: dict[str, Any] = {"title": document.title[:300]}
    if document.publisher:
        source["publisher"] = document.publisher
    if document.published:
        source["date"] = document.published.isoformat()
    if document.url:
        source["url"] = document.url
    return source


def _description(document: Document) -> str:
    parts = []
    if document.abstract:
        abstract = " ".join(document.abstract.split())
        parts.append(abstract[:600] + ("…" if len(abstract) > 600 else ""))
    for dated in document.dates:
        how = f" (parsed from the text: {dated.text[:120]!r})" if dated.from_text else ""
        parts.append(f"{dated.kind}: {dated.date.isoformat()}{how}.")
    parts.append(f"Proposed from {document.id}; check the date against the source before accepting.")
    return " ".join(parts)


def guess_action(document: Document, calendar: Calendar) -> str | None:
    """The action the document most likely belongs to: the same instrument, else most shared words."""
    text = f"{document.title}\n{document.abstract or ''}"
    named = instrument_refs(text)
    for action in calendar.actions:
        if action.instrument and named & instrument_refs(action.instrument):
            return action.id
    if document.action:
        return document.action
    words = _words(text)
    best, best_score = None, 0.0
    for action in calendar.actions:
        theirs = _words(f"{action.title} {action.summary or ''}")
        shared = words & theirs
        score = len(shared) / max(len(theirs), 1)
        if len(shared) >= 2 and score > best_score:
            best, best_score = action.id, score
    return best if best_score >= 0.25 else None


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3 and w not in _STOP}


def _unique_id(title: str, date: dt.date | None, calendar: Calendar) -> str:
    words = [w for w in _WORD.findall(title.lower()) if w not in _STOP][:8]
    stem = "-".join(words)[:90].strip("-") or "proposal"
    base = f"{stem}-{date.isoformat()}" if date else stem
    taken = {event.id for event in calendar.events}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
