"""What changed between two versions of the calendar: added, removed, moved, re-statused, re-sourced.

`diff_calendars` compares two resolved `Calendar`s event by event (matched on `id`, which is also the
feed UID). It compares every field of `store.Event` and of the calendar generically, so a field added
to the format later shows up here without a change to this module; only the fields with a meaning of
their own (the times, the status, the sources) get a dedicated line. Pure: no clock, no IO.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from calendar_service.core.calendar import Calendar, Event

# Fields that say where an event is rather than what it is (its line moves with every edit above it),
# or that are covered by the `moved` line.
_NOT_COMPARED = frozenset({"line", "id"})
_TIME_FIELDS = ("start", "end", "tz", "deadline_at")
_OWN_LINE = frozenset({*_TIME_FIELDS, "status", "sources"})
# Calendar fields that identify a version rather than describe it.
_CALENDAR_NOT_COMPARED = frozenset({"events", "version", "path"})


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's old and new value, as JSON-ready data."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Move:
    """An event's time before and after, each in the event's own zone (dates for all-day events)."""

    old: str
    new: str
    shift: dt.timedelta | None  # new start minus old start; None when only the end or deadline moved
    old_deadline: str | None = None
    new_deadline: str | None = None


@dataclass(frozen=True, slots=True)
class SourceChange:
    """Sources that appear only in the new version, and only in the old."""

    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventChange:
    """How one event that exists in both versions differs."""

    id: str
    title: str
    line: int
    moved: Move | None
    status: FieldChange | None
    sources: SourceChange | None
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class CalendarDiff:
    """Everything that differs between an old and a new calendar."""

    added: tuple[Event, ...]
    removed: tuple[Event, ...]
    changed: tuple[EventChange, ...]
    calendar: tuple[FieldChange, ...]

    @property
    def is_empty(self) -> bool:
        """Whether the two versions publish the same thing."""
        return not (self.added or self.removed or self.changed or self.calendar)

    def counts(self) -> dict[str, int]:
        """How many events were added, removed, changed, and of those moved, re-statused, re-sourced."""
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "moved": sum(1 for c in self.changed if c.moved),
            "restatused": sum(1 for c in self.changed if c.status),
            "resourced": sum(1 for c in self.changed if c.sources),
        }


def diff_calendars(old: Calendar, new: Calendar) -> CalendarDiff:
    """Compare two calendars; events are matched on their id."""
    added = tuple(e for e in new.events if e.id not in old)
    removed = tuple(e for e in old.events if e.id not in new)
    changed = []
    for event in new.events:  # new.events is in start order, so the report reads chronologically
        if event.id in old:
            change = _diff_event(old.get(event.id), event, old, new)
            if change is not None:
                changed.append(change)
    return CalendarDiff(added, removed, tuple(changed), tuple(_diff_calendar_fields(old, new)))


def _diff_event(old: Event, new: Event, old_cal: Calendar, new_cal: Calendar) -> EventChange | None:
    moved = None
    if any(getattr(old, name) != getattr(new, name) for name in _TIME_FIELDS):
        moved = _move(old, new, old_cal.tz, new_cal.tz)
    status = FieldChange("status", old.status.value, new.status.value) if old.status != new.status else None
    sources = None
    if old.sources != new.sources:
        old_texts = [summarize(s) for s in old.sources]
        new_texts = [summarize(s) for s in new.sources]
        sources = SourceChange(
            tuple(t for t in new_texts if t not in old_texts),
            tuple(t for t in old_texts if t not in new_texts),
        )
    fields = tuple(
        FieldChange(f.name, plain(getattr(old, f.name)), plain(getattr(new, f.name)))
        for f in dataclasses.fields(new)
        if f.name not in _NOT_COMPARED
        and f.name not in _OWN_LINE
        and getattr(old, f.name, None) != getattr(new, f.name)
    )
    if moved is None and status is None and sources is None and not fields:
        return None
    return EventChange(new.id, new.title, new.line, moved, status, sources, fields)


def _move(old: Event, new: Event, old_tz: dt.tzinfo, new_tz: dt.tzinfo) -> Move:
    shift = None
    whole_days = old.all_day and new.all_day
    if old.start != new.start:
        # Whole days move by calendar days: 182 days across a clock change is not "181 days 23 h".
        if whole_days:
            shift = dt.timedelta(days=(_day(new.start) - _day(old.start)).days)
        else:
            shift = new.start_utc(new_tz) - old.start_utc(old_tz)
    old_deadline = new_deadline = None
    if whole_days and old.deadline_day is not None and new.deadline_day is not None:
        moved_with_start = shift is not None and old.day_tz == new.day_tz and old.day_moment == new.day_moment
        follows_start = (
            moved_with_start and dt.timedelta(days=(new.deadline_day - old.deadline_day).days) == shift
        )
    else:
        follows_start = (
            old.deadline_at is not None
            and new.deadline_at is not None
            and shift is not None
            and new.deadline_at - old.deadline_at == shift
        )
    if old.deadline_at != new.deadline_at and not follows_start:  # say so only when it moved on its own
        old_deadline = _deadline_text(old, old_tz)
        new_deadline = _deadline_text(new, new_tz)
    return Move(when_text(old), when_text(new), shift, old_deadline, new_deadline)


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _deadline_text(event: Event, default_tz: dt.tzinfo) -> str:
    if event.deadline_at is None:
        return "no deadline"
    if event.deadline_day is not None and event.day_moment is not None:  # a whole day, in its own zone
        return f"{event.deadline_day:%Y-%m-%d} ({event.day_moment.value} of day) {event.day_tz}"
    zone = event.start.tzinfo if isinstance(event.start, dt.datetime) else event.day_zone(default_tz)
    local = event.deadline_at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {getattr(zone, 'key', '')}".rstrip()


def when_text(event: Event) -> str:
    """The event's time as a curator wrote it: a date, a span of dates, or a local time with its zone."""
    start, end = event.start, event.end
    if isinstance(start, dt.datetime):
        zone = getattr(start.tzinfo, "key", "")
        text = f"{start:%Y-%m-%d %H:%M}"
        if isinstance(end, dt.datetime):
            same_zone = getattr(end.tzinfo, "key", "") == zone
            same_day = end.date() == start.date() and same_zone
            text += f"–{end:%H:%M}" if same_day else f" – {end:%Y-%m-%d %H:%M}"
            if not same_zone:
                text += f" {getattr(end.tzinfo, 'key', '')}"
        return f"{text} {zone}".rstrip()
    if end is not None and not isinstance(end, dt.datetime) and end != start + dt.timedelta(days=1):
        return f"{start:%Y-%m-%d}..{end - dt.timedelta(days=1):%Y-%m-%d}"  # the end is exclusive
    return f"{start:%Y-%m-%d}"


def shift_text(shift: dt.timedelta) -> str:
    """A signed, readable length of time: '+23 days', '-1 day 2 h', '+30 min'."""
    sign = "-" if shift < dt.timedelta(0) else "+"
    total = abs(int(shift.total_seconds())) // 60
    days, minutes = divmod(total, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    return sign + " ".join(parts or ["0 min"])


def _diff_calendar_fields(old: Calendar, new: Calendar) -> Iterable[FieldChange]:
    old_meta = plain(old.meta)
    new_meta = plain(new.meta)
    for key in sorted({*old_meta, *new_meta}):
        if old_meta.get(key) != new_meta.get(key):
            yield FieldChange(f"calendar.{key}", old_meta.get(key), new_meta.get(key))
    # Anything else the calendar carries (e.g. a top-level list of actions) is compared as data.
    for f in dataclasses.fields(new):
        if f.name.startswith("_") or f.name in _CALENDAR_NOT_COMPARED or f.name == "meta":
            continue
        before, after = plain(getattr(old, f.name, None)), plain(getattr(new, f.name))
        if before != after:
            yield FieldChange(f.name, before, after)


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: models as dicts without empty fields, enums as values, dates as ISO."""
    if hasattr(value, "model_dump"):  # a pydantic model, without importing pydantic here
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def summarize(value: Any) -> str:
    """One line for an item of a list field: a source's title and link, a change's date and kind."""
    data = plain(value)
    if not isinstance(data, dict):
        return str(data)
    if "id" in data and "title" in data:
        return f"{data['id']}: {data['title']}"
    if "title" in data:
        link = f" <{data['url']}>" if data.get("url") else ""
        return f"{data['title']}{link}"
    if "changed" in data and "kind" in data:
        note = f": {data['note']}" if data.get("note") else ""
        return f"{data['changed']} {data['kind']}{note}"
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def list_delta(old: Any, new: Any) -> tuple[list[str], list[str], list[str]] | None:
    """For two list values: items only in new, only in old, and (records with an `id`) edited; else None."""
    if not (isinstance(old, list) and isinstance(new, list)):
        return None
    if all(isinstance(v, dict) and "id" in v for v in (*old, *new)):
        # Records with their own id (actions): matched on it, so an edit reads as one change.
        before = {v["id"]: v for v in old}
        after = {v["id"]: v for v in new}
        edited = [
            f"{key}: {', '.join(_changed_keys(before[key], value))}"
            for key, value in after.items()
            if key in before and before[key] != value
        ]
        return (
            [summarize(v) for k, v in after.items() if k not in before],
            [summarize(v) for k, v in before.items() if k not in after],
            edited,
        )
    old_texts = [summarize(v) for v in old]
    new_texts = [summarize(v) for v in new]
    return [t for t in new_texts if t not in old_texts], [t for t in old_texts if t not in new_texts], []


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [key for key in sorted({*old, *new}) if old.get(key) != new.get(key)]


def describe_value(value: Any) -> str:
    """A field value as one short line for a table or a pull-request comment."""
    if value is None or value == []:
        return "(none)"
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "…"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "…"


def field_lines(change: FieldChange) -> Sequence[str]:
    """A field change as short lines: '+ item'/'- item' for lists, 'old → new' otherwise."""
    delta = list_delta(change.old, change.new)
    if delta is not None and any(delta):
        added, removed, edited = delta
        return [*(f"+ {t}" for t in added), *(f"- {t}" for t in removed), *(f"~ {t} changed" for t in edited)]
    return [f"{describe_value(change.old)} → {describe_value(change.new)}"]
