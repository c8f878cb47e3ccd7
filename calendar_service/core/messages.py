"""One webhook message, as data: its type, its fields and the formats it can be sent in.

`data` is plain JSON (persisted by the ledger as is); build it with `reminder_data` or `change_data`
so every format (`render.webhook_payloads`) finds the fields it renders:

    reminder.due        event_id, title, kind, url, deadline{local, zone, utc}, lead_time (ISO 8601),
                        time_remaining (ISO 8601), sources[{title, url}], late
    event.rescheduled   event_id, title, kind, url, old{local, zone, utc}|None, new{…}|None, sources,
    event.cancelled     reason, successor{event_id, title, at{local, zone, utc}}|None (a supersession)
    event.created
    reminder.digest     count, items[{id, type, ...the data of that single message}]
    event.digest
    test                anything; rendered as a short "test message"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.timing import iso_duration, utc_text

Format = Literal["standard", "slack", "teams"]
FORMATS: tuple[Format, ...] = ("standard", "slack", "teams")


class MessageType(StrEnum):
    """The `type` of a webhook message, as receivers see it (and as the ledger's `kind` column stores it)."""

    REMINDER_DUE = "reminder.due"
    EVENT_RESCHEDULED = "event.rescheduled"
    EVENT_CANCELLED = "event.cancelled"
    EVENT_CREATED = "event.created"
    REMINDER_DIGEST = "reminder.digest"  # several reminders of one due minute: data {count, items}
    EVENT_DIGEST = "event.digest"  # several change notices of one data edit: data {count, items}
    TEST = "test"


MESSAGE_TYPES: tuple[MessageType, ...] = tuple(MessageType)


@dataclass(frozen=True)
class Message:
    """One notification: `id` is the stable `webhook-id` (the reminder id), the same on every retry."""

    id: str
    type: str
    timestamp: dt.datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("Message.id must not be empty: it is the webhook-id receivers deduplicate on")
        if self.timestamp.tzinfo is None:
            raise ValueError(f"Message.timestamp must be aware, got naive {self.timestamp.isoformat()}")


def event_page_url(base_url: str, event_id: str) -> str | None:
    """The event's page on the public site (`TRADE_CALENDAR_BASE_URL`), or None when that is not set."""
    return f"{base_url.rstrip('/')}/events/{quote(event_id, safe='')}" if base_url else None


def moment_data(moment: dt.datetime, zone: str) -> dict[str, str]:
    """`{"local", "zone", "utc"}` for an aware instant shown in IANA zone `zone`."""
    return {"local": moment.astimezone(ZoneInfo(zone)).isoformat(), "zone": zone, "utc": utc_text(moment)}


def whole_day_data(moment: dt.datetime, zone: str, day_moment: str | None) -> dict[str, str]:
    """`moment_data`, plus `date` and `moment` when the instant is the start or end of a whole day."""
    data = moment_data(moment, zone)
    if day_moment not in ("start", "end"):
        return data
    day = moment.astimezone(ZoneInfo(zone)).date()
    if day_moment == "end":  # the end of a day is the midnight after it
        day -= dt.timedelta(days=1)
    return {**data, "date": day.isoformat(), "moment": str(day_moment)}


def reminder_data(
    *,
    event_id: str,
    title: str,
    kind: str,
    deadline: dt.datetime,
    zone: str,
    lead_time: LeadTime,
    now: dt.datetime,
    sources: Sequence[Mapping[str, str]] = (),
    late: bool = False,
    url: str | None = None,
    day_moment: str | None = None,
) -> dict[str, Any]:
    """The `data` of a `reminder.due` message; `now` is when it is sent (for time_remaining).

    A whole-day deadline gives `day_moment` (start or end of its day in `zone`): it is shown as a date.
    """
    return {
        "event_id": event_id,
        "title": title,
        "kind": kind,
        "url": url,
        "deadline": whole_day_data(deadline, zone, day_moment),
        "lead_time": lead_time.text,
        "time_remaining": iso_duration(max(deadline - now, dt.timedelta(0))),
        "sources": [{"title": s.get("title", ""), "url": s["url"]} for s in sources],
        "late": late,
    }


def change_data(
    *,
    event_id: str,
    title: str,
    kind: str,
    zone: str,
    old: dt.datetime | None,
    new: dt.datetime | None,
    sources: Sequence[Mapping[str, str]] = (),
    reason: str | None = None,
    url: str | None = None,
    day_moment: str | None = None,
    successor: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `data` of an `event.rescheduled` / `event.cancelled` / `event.created` message.

    `successor` (from `successor_data`) is the event that superseded a cancelled one.
    """
    return {
        "event_id": event_id,
        "title": title,
        "kind": kind,
        "url": url,
        "old": whole_day_data(old, zone, day_moment) if old else None,
        "new": whole_day_data(new, zone, day_moment) if new else None,
        "sources": [{"title": s.get("title", ""), "url": s["url"]} for s in sources],
        "reason": reason,
        "successor": dict(successor) if successor is not None else None,
    }


def successor_data(
    *, event_id: str, title: str, at: dt.datetime, zone: str, day_moment: str | None = None
) -> dict[str, Any]:
    """The event that superseded another: its id, title and the time that now applies."""
    return {"event_id": event_id, "title": title, "at": whole_day_data(at, zone, day_moment)}
