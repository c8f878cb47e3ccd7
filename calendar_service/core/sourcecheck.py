"""What a re-read of a source page means: unchanged, changed (with what changed), failing or dead.

Pure: the fetcher hands over the page's readable text (or why there is none) and the time; this module
fingerprints the text, decides the source's new state from its previous one, and says which events a
change or a dead link puts in front of a curator.

A page's first fingerprint is a baseline, not a change: nothing says whether it differs from what the
curator read. A later different fingerprint records `changed_at` and a short excerpt of the lines that
came and went; an event is "to review" while a source changed after its `verified:` date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from calendar_service.core.calendar import Calendar

TEXT_KEPT = 50_000  # characters of a page's text kept to compare with the next version
EXCERPT_CHARS = 600
_SPACE = re.compile(r"\s+")

# What one fetch gave: a page's text, "not modified" (304), gone (404/410), or a failure.
Outcome = Literal["text", "not-modified", "gone", "failed"]


def normalise(text: str) -> str:
    """The text as lines with runs of white space collapsed and blank lines dropped."""
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def fingerprint(text: str) -> str:
    """A SHA-256 of the normalised text: equal for pages that read the same, whatever their markup."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def change_excerpt(old: str, new: str, limit: int = EXCERPT_CHARS) -> str:
    """The lines that went (`- `) and came (`+ `), in page order, cut to about `limit` characters."""
    before, after = normalise(old).splitlines(), normalise(new).splitlines()
    out: list[str] = []
    size = 0
    for line in difflib.unified_diff(before, after, n=0, lineterm=""):
        if line.startswith(("---", "+++", "@@")):
            continue
        shown = f"{line[0]} {line[1:]}"
        if len(shown) > 200:
            shown = shown[:199] + "…"
        if size + len(shown) > limit:
            out.append("…")
            break
        out.append(shown)
        size += len(shown) + 1
    return "\n".join(out)


@dataclass(frozen=True)
class Fetch:
    """One re-read of a URL as the fetcher saw it."""

    url: str
    outcome: Outcome
    text: str | None = None  # the readable text, when outcome is "text"
    body_hash: str | None = None  # hash of the raw body, to skip extraction when the bytes repeat
    etag: str | None = None
    last_modified: str | None = None
    status: int | None = None
    error: str | None = None  # what failed, in a sentence
    network: bool = False  # the failure is the network (DNS, refused, timed out): dead after N days


@dataclass(frozen=True)
class SourceState:
    """What is known of one source URL after its last check."""

    url: str
    fingerprint: str | None = None
    body_hash: str | None = None
    text: str | None = None
    excerpt: str | None = None  # what changed at `changed_at`
    etag: str | None = None
    last_modified: str | None = None
    checked_at: dt.datetime | None = None
    ok_at: dt.datetime | None = None  # the last answer that was a page (200 or 304)
    changed_at: dt.datetime | None = None
    failing_since: dt.datetime | None = None
    error: str | None = None
    status: int | None = None
    gone: bool = False


def next_state(previous: SourceState | None, fetch: Fetch, now: dt.datetime) -> SourceState:
    """The state after `fetch` at `now`: a new fingerprint, a change noted, or a failure carried on."""
    state = previous or SourceState(fetch.url)
    base = dataclasses.replace(state, checked_at=now, status=fetch.status)
    if fetch.outcome == "not-modified":
        return dataclasses.replace(base, ok_at=now, failing_since=None, error=None, gone=False)
    if fetch.outcome == "gone":
        since = state.failing_since if state.gone else now
        return dataclasses.replace(base, gone=True, failing_since=since, error=fetch.error)
    if fetch.outcome == "failed":
        since = state.failing_since if state.failing_since and not state.gone else now
        return dataclasses.replace(base, failing_since=since, error=fetch.error, gone=False)
    text = (fetch.text or "")[:TEXT_KEPT]
    print_ = fingerprint(text)
    ok = dataclasses.replace(
        base,
        ok_at=now,
        failing_since=None,
        error=None,
        gone=False,
        etag=fetch.etag,
        last_modified=fetch.last_modified,
        body_hash=fetch.body_hash,
        fingerprint=print_,
        text=text,
    )
    if state.fingerprint is None or state.fingerprint == print_:
        return ok
    return dataclasses.replace(ok, changed_at=now, excerpt=change_excerpt(state.text or "", text))


class SourceIssue(StrEnum):
    """Why a source puts an event in front of a curator."""

    CHANGED = "source-changed"
    DEAD = "source-dead"
    FAILING = "source-failing"


@dataclass(frozen=True)
class SourceFinding:
    """One event's source that changed since the event was verified, is dead, or cannot be read."""

    event_id: str
    line: int
    url: str
    issue: SourceIssue
    since: dt.datetime
    message: str
    excerpt: str | None = None


def event_source_urls(calendar: Calendar) -> list[str]:
    """Every distinct source URL of every event (history sources included), in file order."""
    seen: dict[str, None] = {}
    for event in calendar.events:
        for source in event.sources:
            if source.url:
                seen.setdefault(source.url, None)
        for change in event.history:
            if change.source is not None and change.source.url:
                seen.setdefault(change.source.url, None)
    return list(seen)


def source_findings(
    calendar: Calendar, states: Mapping[str, SourceState], now: dt.datetime, dead_after: dt.timedelta
) -> list[SourceFinding]:
    """Each event whose sources changed after its `verified:` date, died, or keep failing; by event."""
    found: list[SourceFinding] = []
    for event in calendar.events:
        urls = dict.fromkeys(s.url for s in event.sources if s.url)
        for url in urls:
            state = states.get(url)
            if state is not None:
                found.extend(_findings(event.id, event.line, event.verified, state, now, dead_after))
    found.sort(key=lambda f: (f.issue.value, f.since, f.event_id, f.url))
    return found


def _findings(
    event_id: str,
    line: int,
    verified: dt.date | None,
    state: SourceState,
    now: dt.datetime,
    dead_after: dt.timedelta,
) -> Iterable[SourceFinding]:
    if state.changed_at is not None and (verified is None or state.changed_at.date() > verified):
        checked = f"verified {verified}" if verified else "never verified"
        yield SourceFinding(
            event_id,
            line,
            state.url,
            SourceIssue.CHANGED,
            state.changed_at,
            f"source changed on {state.changed_at:%Y-%m-%d} ({checked}) — read it, update the entry, "
            "then `trade-calendar review --verify " + event_id + "`",
            state.excerpt,
        )
    if state.failing_since is None:
        return
    if state.gone or now - state.failing_since >= dead_after:
        what = f"HTTP {state.status}" if state.gone else f"failing since {state.failing_since:%Y-%m-%d}"
        yield SourceFinding(
            event_id,
            line,
            state.url,
            SourceIssue.DEAD,
            state.failing_since,
            f"dead link ({what}: {state.error}) — find where the document moved (or an archived copy) "
            "and replace the URL",
        )
    else:
        yield SourceFinding(
            event_id,
            line,
            state.url,
            SourceIssue.FAILING,
            state.failing_since,
            f"cannot be read since {state.failing_since:%Y-%m-%d %H:%M}Z: {state.error}",
        )
