"""Builders for the source-watch tests: an event file whose sources are replayed pages, and a watch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.webhooks.security import AddressPolicy
from calendar_service.core.calendar import Calendar
from calendar_service.core.validation import validate_bytes
from calendar_service.worker.sourcewatch import SourceWatch
from tests.support.replay import ReplayServer

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def events_yaml(site: ReplayServer, extra: str = "") -> str:
    """An events file whose events cite pages on `site` (verified before NOW)."""
    return f"""\
calendar:
  name: Watch test
  timezone: America/New_York
  reviewed: 2026-11-24
  contact: curators@example.org
actions:
  - id: steel-232
    title: Section 232 steel and aluminium tariffs
    instrument: Proclamation 10896
    sources:
      - title: Proclamation 10896
        url: {site.url("/proclamation")}
events:
  - id: steel-hearing
    title: Steel hearing
    kind: hearing
    status: tentative
    countries: [US]
    action: steel-232
    date: 2027-01-20
    verified: 2026-11-24
    sources:
      - title: Hearing notice
        url: {site.url("/notice")}
  - id: old-link
    title: Old notice
    kind: deadline
    countries: [US]
    date: 2027-02-01
    verified: 2026-11-24
    sources:
      - title: Moved notice
        url: {site.url("/moved-away")}
{extra}"""


def load(path: Path) -> Calendar:
    outcome = validate_bytes(path.read_bytes(), str(path), today=NOW.date())
    assert outcome.calendar is not None, [p.format() for p in outcome.errors]
    return outcome.calendar


def make_watch(engine: Engine, clock: SettableClock, data: Path, watch: Path | None = None) -> SourceWatch:
    """A watch over the events file at `data` (re-read each run), reaching loopback."""
    return SourceWatch(
        engine, clock, AddressPolicy(allow_private=True), lambda: load(data), watch, robots=True
    )


def notice(text: str) -> bytes:
    return (
        "<html><head><title>Notice</title></head><body><nav><a href='/'>Home</a> | <a>Menu</a></nav>"
        f"<main><article><h1>Notice of public hearing</h1><p>{text}</p>"
        "<p>Requests to appear must be filed by the deadline set out below.</p></article></main>"
        "<footer>Privacy | Accessibility | Contact</footer></body></html>"
    ).encode()
