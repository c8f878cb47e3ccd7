"""What changed since a moment: recorded `history` entries and what this service saw between versions.

The one selection behind `/api/v1/changes`, `/changes`, its Atom feed and the home page's "what
changed": newest first, narrowed by the feed's filters (a removed event is matched as it was).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from calendar_service.adapters.live import Snapshot
from calendar_service.application.indexes import index_of, states_of
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.filters import EventFilter
from calendar_service.core.history import steps
from calendar_service.core.publication import Published, event_from_snapshot, moment_from_snapshot
from calendar_service.render.jsonview import moment_to_dict, utc_text, was_to_dict

_HISTORY_ORDER = {"history": 0, "observed": 1}


def _history_entries(event: Event, since_day: dt.date, snapshot: Snapshot) -> list[dict[str, Any]]:
    if not any(change.changed >= since_day for change in event.history):
        return []  # most events: nothing recorded since, and no need to resolve earlier times
    tz = snapshot.calendar.tz
    entries = []
    for step in steps(event, snapshot.calendar.meta.timezone):
        change = step.change
        if change.changed < since_day:
            continue
        data = change.model_dump(mode="json", exclude_none=True)
        entries.append(
            {
                "event_id": event.id,
                "title": event.title,
                "change": change.kind,
                "at": change.changed.isoformat(),
                "origin": "history",
                "note": change.note,
                "was": was_to_dict(change, event, snapshot.calendar),
                # The same earlier time as an instant, and the time that replaced it.
                "was_at": moment_to_dict(step.before, event.day_zone(tz)),
                "now_at": moment_to_dict(step.after, event.day_zone(tz)),
                "was_status": data.get("was_status"),
                "status": event.status.value,
                "start": moment_to_dict(event.start, event.day_zone(tz)),
                "superseded_by": event.superseded_by,
                "sequence": getattr(snapshot.published.get(event.id), "sequence", None),
            }
        )
    return entries


def _observed_entries(snapshot: Snapshot, since: dt.datetime) -> list[dict[str, Any]]:
    # What the service itself saw between data versions: a SEQUENCE above the number of recorded
    # history entries means a significant change nobody wrote down (publication.py keeps that floor),
    # and a tombstone means the event left the file.
    calendar = snapshot.calendar
    entries = []
    for event_id, state in states_of(snapshot).moved_since(since):
        event = calendar.get(event_id) if event_id in calendar else None
        if state.first_published is not None and state.first_published >= since:
            # An event a data edit added (the first publication's events are the data, not news).
            entries.append(_observed(event_id, event, state, "created", state.first_published, calendar))
        if state.removed_at is not None:
            if state.removed_at < since:
                continue
            change, at = "removed", state.removed_at
        elif event is not None and state.last_modified >= since and state.sequence > len(event.history):
            change = event.status.value if not event.is_live else "changed"
            at = state.last_modified
        else:
            continue
        entries.append(_observed(event_id, event, state, change, at, calendar))
    return entries


def _observed(
    event_id: str, event: Event | None, state: Published, change: str, at: dt.datetime, calendar: Calendar
) -> dict[str, Any]:
    moved = change == "changed" and state.was_start is not None and event is not None
    days = event.day_zone(calendar.tz) if event is not None else calendar.tz
    return {
        "event_id": event_id,
        "title": event.title if event else str(state.snapshot.get("title", event_id)),
        "change": change,
        "at": utc_text(at),
        "origin": "observed",
        "status": event.status.value if event else None,
        "start": moment_to_dict(event.start, event.day_zone(calendar.tz)) if event else None,
        "superseded_by": event.superseded_by if event else None,
        "sequence": state.sequence,
        # A move nobody recorded: the start the feed had before, and the one it has now.
        "was_at": moment_to_dict(moment_from_snapshot(state.was_start), days) if moved else None,
        "now_at": moment_to_dict(event.start, days) if moved and event else None,
    }


def changes_since(snapshot: Snapshot, since: dt.datetime) -> list[dict[str, Any]]:
    """Every change at or after `since`, newest first; history dates are read in the calendar's zone."""
    try:
        since_day = since.astimezone(snapshot.calendar.tz).date()
    except OverflowError:
        # An instant within hours of year 1 or 9999 has no local date in some zones; it is still a
        # valid `since`, older or newer than anything the calendar can hold.
        since_day = dt.date.min if since.year == 1 else dt.date.max
    entries: list[dict[str, Any]] = []
    for event in index_of(snapshot).changed_since(since_day):
        entries.extend(_history_entries(event, since_day, snapshot))
    entries.extend(_observed_entries(snapshot, since))
    # ISO dates and UTC instants sort together as text: a date sorts before that day's instants.
    entries.sort(key=lambda e: (e["at"], -_HISTORY_ORDER[e["origin"]], e["event_id"]), reverse=True)
    return entries


def changed_event(snapshot: Snapshot, entry: dict[str, Any]) -> tuple[Event, bool] | None:
    """The event a change entry is about and whether it is gone (rebuilt from its last snapshot)."""
    event_id = entry["event_id"]
    if event_id in snapshot.calendar:
        return snapshot.calendar.get(event_id), False
    state = snapshot.published.get(event_id)
    return None if state is None else (event_from_snapshot(state.snapshot), True)


def select_changes(
    snapshot: Snapshot, since: dt.datetime, event_filter: EventFilter | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The newest `limit` changes since `since` to events `event_filter` lets through (all: no filter)."""
    out: list[dict[str, Any]] = []
    for entry in changes_since(snapshot, since):
        if limit is not None and len(out) >= limit:
            break
        if event_filter is not None:
            found = changed_event(snapshot, entry)
            if found is None or not event_filter.matches(found[0]):
                continue
        out.append(entry)
    return out
