"""Builders shared by the reminder tests: calendars from a few event dicts, subscriptions, services."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import Clock
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.adapters.settings import Settings
from calendar_service.adapters.webhooks.client import WebhookClient
from calendar_service.adapters.webhooks.security import AddressPolicy
from calendar_service.adapters.webhooks.signing import new_secret
from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.reminders.retry import RetryPolicy
from calendar_service.core.subscriptions import Subscription
from calendar_service.worker.service import ReminderService, Tuning

UTC = dt.UTC


def event(
    event_id: str,
    at: dt.datetime,
    *,
    status: str = "scheduled",
    countries: Sequence[str] = ("US",),
    tags: Sequence[str] = (),
    superseded_by: str | None = None,
) -> dict[str, Any]:
    """One timed event whose deadline is its start `at` (aware, in the zone it is written in)."""
    zone = getattr(at.tzinfo, "key", "UTC")
    record: dict[str, Any] = {
        "id": event_id,
        "title": f"Deadline {event_id}",
        "kind": "deadline",
        "status": status,
        "countries": list(countries),
        "date": at.date().isoformat(),
        "time": at.strftime("%H:%M"),
        "tz": zone,
        "deadline": "start",
        "sources": [{"title": "Federal Register", "url": "https://example.com/fr"}],
    }
    if tags:
        record["tags"] = list(tags)
    if superseded_by:
        record["superseded_by"] = superseded_by
    return record


def calendar_yaml(events: Iterable[Mapping[str, Any]]) -> str:
    """A complete event file holding `events`."""
    document = {
        "calendar": {
            "name": "Reminder tests",
            "timezone": "America/New_York",
            "reviewed": "2026-01-01",
            "contact": "curators@example.org",
        },
        "events": [dict(e) for e in events],
    }
    # libyaml's emitter: the pure-Python one was most of the time of building a calendar (the
    # convergence state machine builds hundreds).
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the same bytes; absent without libyaml
    return yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True)


def make_calendar(*events: Mapping[str, Any]) -> Calendar:
    """Parse (and so validate) a calendar of `events`, as the service would load it."""
    raw = calendar_yaml(events).encode()
    return parse_calendar(raw, "test.yaml", today=dt.date(2026, 1, 1)).calendar


def write_calendar(path: Path, *events: Mapping[str, Any]) -> Path:
    """Write an event file (for processes that load it themselves)."""
    path.write_text(calendar_yaml(events), encoding="utf-8")
    return path


def add_subscription(
    engine: Engine,
    url: str,
    clock: Clock,
    *,
    lead_times: Sequence[str] = ("PT1H",),
    filter: Mapping[str, Sequence[str]] | None = None,
    sub_id: str | None = None,
    fmt: str = "standard",
    digest: bool = False,
) -> Subscription:
    """Store a subscription to `url`."""
    now = clock.now()
    sub = Subscription(
        id=sub_id or f"sub_{abs(hash((url, tuple(lead_times), now))) % 10**10}",
        url=url,
        filter={k: tuple(v) for k, v in (filter or {}).items()},
        secret=new_secret(),
        created_at=now,
        updated_at=now,
        lead_times=tuple(lead_times),
        format=fmt,  # type: ignore[arg-type]
        digest=digest,
    )
    return subs_db.create_subscription(engine, sub)


FAST_RETRY = RetryPolicy(
    base=dt.timedelta(seconds=10), factor=2.0, max_attempts=5, max_delay=dt.timedelta(minutes=5), jitter=False
)


def make_service(
    engine: Engine,
    source: Any,
    clock: Clock,
    *,
    timeout: float = 2.0,
    tuning: Tuning | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> ReminderService:
    """A service wired to real HTTP with private (loopback) targets allowed."""
    settings = Settings(allow_private_webhooks=True, webhook_timeout=timeout)
    client = WebhookClient(AddressPolicy(allow_private=True), timeout=timeout, clock=clock)
    return ReminderService(
        settings, engine, source, clock, client, tuning=tuning or Tuning(concurrency=4), retry_policy=retry
    )


class OffsetClock:
    """The system clock moved by `offset`: real seconds pass, so APScheduler's real alarm can be used."""

    def __init__(self, offset: dt.timedelta) -> None:
        self.offset = offset

    @classmethod
    def starting_at(cls, moment: dt.datetime) -> OffsetClock:
        """A clock that reads `moment` now."""
        return cls(moment - dt.datetime.now(UTC))

    def now(self) -> dt.datetime:
        """The moved time."""
        return dt.datetime.now(UTC) + self.offset


def run_together(services: Sequence[ReminderService], now: dt.datetime) -> None:
    """`run_due(now)` on every service at the same moment (threads on a barrier), then shut them down."""
    barrier = threading.Barrier(len(services))

    def run(service: ReminderService) -> None:
        barrier.wait()
        service.run_due(now)

    threads = [threading.Thread(target=run, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for service in services:
        service.shutdown()
