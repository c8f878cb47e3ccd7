"""Events as JSON-ready dictionaries: the shape the CLI and the API share."""

from __future__ import annotations

import datetime as dt
from typing import Any

from calendar_service.core import certainty, model, timing
from calendar_service.core.calendar import Calendar, Event, earlier_start
from calendar_service.core.timing import utc_text

__all__ = ["event_to_dict", "moment_to_dict", "utc_text"]  # utc_text: re-exported for the API


def moment_to_dict(value: dt.date | dt.datetime | None, default_tz: dt.tzinfo) -> dict[str, Any] | None:
    """A time as local ISO 8601 with offset, its IANA zone and UTC; dates say they are all-day."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return {
            "local": value.isoformat(),
            "zone": getattr(value.tzinfo, "key", str(value.tzinfo)),
            "utc": utc_text(value),
            "all_day": False,
        }
    begins = dt.datetime.combine(value, dt.time(0), tzinfo=default_tz)
    return {
        "date": value.isoformat(),
        "local": begins.isoformat(),
        "zone": getattr(default_tz, "key", str(default_tz)),
        "utc": utc_text(begins),
        "all_day": True,
    }


def descriptive_fields(event: Event) -> dict[str, Any]:
    """The event's descriptive fields (everything but its times and records) as JSON-ready values."""
    return {
        "id": event.id,
        "title": event.title,
        "kind": event.kind.value,
        "status": event.status.value,
        "countries": list(event.countries),
        "importance": event.importance.value,
        "tags": list(event.tags),
        "action": event.action,
        "related": list(event.related),
        "authority": event.authority.value if event.authority else None,
        "hs": list(event.hs),
        "chapter99": list(event.chapter99),
        "series": event.series,
        "rrule": event.rrule,
        "exdate": [day.isoformat() for day in event.exdates],
        "instrument": event.instrument,
        "location": event.location,
        "description": event.description,
    }


def records(event: Event) -> dict[str, Any]:
    """The event's sources, history and verification date as JSON-ready values."""
    return {
        "sources": [source.model_dump(mode="json", exclude_none=True) for source in event.sources],
        "history": [change.model_dump(mode="json", exclude_none=True) for change in event.history],
        "verified": event.verified.isoformat() if event.verified else None,
    }


def was_to_dict(change: model.Change, event: Event, calendar: Calendar) -> dict[str, Any] | None:
    """A history entry's earlier time as written, plus the instant it meant (local, zone, UTC)."""
    if change.was is None:
        return None
    written = change.was.model_dump(mode="json", exclude_none=True)
    moment = moment_to_dict(
        earlier_start(change.was, event, calendar.meta.timezone), event.day_zone(calendar.tz)
    )
    assert moment is not None
    return {**moment, **written}


def history_to_list(event: Event, calendar: Calendar) -> list[dict[str, Any]]:
    """The event's recorded changes, each earlier time resolved so a reader can say "was → now"."""
    out = []
    for change in event.history:
        data = change.model_dump(mode="json", exclude_none=True)
        was = was_to_dict(change, event, calendar)
        if was is not None:
            data["was"] = was
        out.append(data)
    return out


def action_to_dict(action: model.Action, calendar: Calendar) -> dict[str, Any]:
    """An action record and the ids of its dated events in time order (for action pages and the API)."""
    return {
        **action.model_dump(mode="json", exclude_none=True),
        "events": [event.id for event in calendar.events_of(action.id)],
    }


def event_to_dict(event: Event, calendar: Calendar, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything a reader needs about one event; `end` of an all-day event is exclusive.

    A whole-day event's `start`/`end` are its dates read in its own day zone (`day_tz`: Brussels for
    an EU deadline), the zone its `deadline` names too. With `now`, `unconfirmed` also says so for a
    tentative event whose time is over before a curator has recorded it; without, it answers from the
    data alone (`outcome: unconfirmed`).
    """
    tz = calendar.tz
    days = event.day_zone(tz)
    return {
        **descriptive_fields(event),
        "start": moment_to_dict(event.start, days),
        "end": moment_to_dict(event.end, days),
        "precision": event.precision.value,
        "deadline": deadline_to_dict(event, tz),
        "superseded_by": event.superseded_by,
        **certainty_fields(event, tz, now),
        **records(event),
        "history": history_to_list(event, calendar),
    }


def certainty_fields(event: Event, default_tz: dt.tzinfo, now: dt.datetime | None) -> dict[str, Any]:
    """`outcome` as the data records it, and whether the event reads "date passed, outcome not confirmed"."""
    unconfirmed = certainty.recorded_unconfirmed(event) or (
        now is not None and certainty.outcome_unconfirmed(event, now, default_tz)
    )
    return {
        "outcome": event.outcome.value if event.outcome else None,
        "unconfirmed": unconfirmed,
        "unconfirmed_note": certainty.unconfirmed_note(event) if unconfirmed else None,
    }


def deadline_to_dict(event: Event, default_tz: dt.tzinfo) -> dict[str, Any] | None:
    """The moment that counts. A whole-day deadline is a date (`all_day`), the zone its day is read in,
    and `moment` (start or end of that day); `local`/`utc` give the instant that means."""
    if event.deadline_at is None:
        return None
    day = event.deadline_day
    if day is None or event.day_tz is None or event.day_moment is None:
        return moment_to_dict(event.deadline_at.astimezone(_zone_of(event, default_tz)), default_tz)
    return {
        "date": day.isoformat(),
        "moment": event.day_moment.value,
        "local": event.deadline_at.astimezone(timing.zone(event.day_tz)).isoformat(),
        "zone": event.day_tz,
        "utc": utc_text(event.deadline_at),
        "all_day": True,
    }


def _zone_of(event: Event, default_tz: dt.tzinfo) -> dt.tzinfo:
    if isinstance(event.start, dt.datetime) and event.start.tzinfo is not None:
        return event.start.tzinfo
    return default_tz
