"""What the feeds have published about each event, and how that record moves when the data changes.

Calendar clients keep their own copy of every event they have seen; they replace it only when the
new copy is a newer revision. RFC 5545 §3.8.7.4: SEQUENCE is incremented on each *significant*
revision, and RFC 5546 §2.1.4 names the significant ones as changes of DTSTART, DTEND, DURATION,
recurrence or STATUS; we add SUMMARY, because a renamed deadline is news to the reader. Those inputs
make the `fingerprint`. Other edits (location, description, sources, tags) are revisions too, but not
significant: they move LAST-MODIFIED and DTSTAMP (§3.8.7.3, §3.8.7.2) and leave SEQUENCE alone.

An event removed from the file is kept as a tombstone (`removed_at` set, its last `snapshot` kept) for
the retention period, so clients that hold it see it cancelled instead of keeping a stale copy.

Pure: `reconcile` takes the previous state, the calendar and `now`; the caller stores the result
(`calendar_service.adapters.db.publications`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from calendar_service.core import model, timing
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.model import Anchor, Authority, Importance, Kind, Precision, Status

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Published:
    """The feed's record of one event: its revision number, when it last changed, what it looked like."""

    event_id: str
    fingerprint: str
    sequence: int
    last_modified: dt.datetime  # aware, UTC
    removed_at: dt.datetime | None
    snapshot: dict[str, Any]  # JSON-ready; `event_from_snapshot` turns it back into an Event
    # When a data edit added the event (a change readers hear about); None for the events of the first
    # publication and for those published before this was recorded.
    first_published: dt.datetime | None = None
    # The start before the last significant change that moved it (as `snapshot["start"]` holds it), so a
    # move nobody recorded in `history` can still say "was … → now …"; None when unknown.
    was_start: Any = None

    @property
    def is_tombstone(self) -> bool:
        """Whether the event has left the data file and is kept only to announce its cancellation."""
        return self.removed_at is not None


def reconcile(
    previous: Mapping[str, Published], calendar: Calendar, now: dt.datetime, retention: dt.timedelta
) -> dict[str, Published]:
    """The published state for `calendar`, given what was published before and the time now."""
    now = now.astimezone(dt.UTC)
    out: dict[str, Published] = {}
    added = now if previous else None  # the first publication is the data, not news
    for event in calendar:
        out[event.id] = _next_state(previous.get(event.id), event, now, added)
    for event_id, before in previous.items():
        if event_id in out:
            continue
        if before.removed_at is None:
            # Removed just now: one more revision, announcing the cancellation.
            out[event_id] = Published(
                event_id,
                before.fingerprint,
                before.sequence + 1,
                now,
                now,
                before.snapshot,
                before.first_published,
                before.was_start,
            )
        elif now - before.removed_at < retention:
            out[event_id] = before
    return out


def _next_state(
    before: Published | None, event: Event, now: dt.datetime, added: dt.datetime | None = None
) -> Published:
    floor = len(event.history)  # a fresh install agrees with one that saw every recorded change
    fingerprint = fingerprint_of(event)
    snapshot = snapshot_of(event)
    if before is None:
        return Published(event.id, fingerprint, floor, now, None, snapshot, added)
    if before.removed_at is not None or before.fingerprint != fingerprint:
        # Back from a tombstone (its STATUS goes from CANCELLED to live) or a significant change.
        first = before.first_published
        old_start = before.snapshot.get("start")
        was = old_start if old_start is not None and old_start != snapshot["start"] else before.was_start
        sequence = max(before.sequence + 1, floor)
        return Published(event.id, fingerprint, sequence, now, None, snapshot, first, was)
    if before.snapshot != snapshot or before.sequence < floor:
        first = before.first_published
        sequence = max(before.sequence, floor)
        return Published(event.id, fingerprint, sequence, now, None, snapshot, first, before.was_start)
    return before


def series_states(
    calendar: Calendar, published: Mapping[str, Published], fallback: dt.datetime
) -> dict[str, Published]:
    """The feed's record of each repeating entry, written once as one VEVENT for all its dates.

    Its SEQUENCE and LAST-MODIFIED are the highest among its dates, those still in the data and those
    dropped and kept as tombstones, so dropping the date that had been revised most never takes the
    series' SEQUENCE back (clients ignore a lower one). A date no reconcile has seen counts as first
    published at `fallback`. Keyed by the series id; a series none of whose dates is left in the data
    is a tombstone (`removed_at` set), with the snapshot of its first date.
    """
    live: dict[str, list[Published]] = {}
    gone: dict[str, list[Published]] = {}
    for event in calendar:
        if event.series is not None:
            state = published.get(event.id)
            if state is None or state.removed_at is not None:
                state = initial_state(event, fallback)
            live.setdefault(event.series, []).append(state)
    for state in published.values():
        series = state.snapshot.get("series") if state.removed_at is not None else None
        if isinstance(series, str) and state.event_id not in calendar:
            gone.setdefault(series, []).append(state)
    merged: dict[str, Published] = {}
    for series, states in live.items():
        merged[series] = _merge(series, states + gone.get(series, []), removed=False)
    for series, states in gone.items():
        if series not in merged:
            merged[series] = _merge(series, states, removed=True)
    return merged


def _merge(series: str, states: list[Published], removed: bool) -> Published:
    first = min(states, key=lambda s: str(s.snapshot.get("start", "")) if removed else "")
    removals = [s.removed_at for s in states if s.removed_at is not None]
    return replace(
        first,
        event_id=series,
        sequence=max(s.sequence for s in states),
        last_modified=max(s.last_modified for s in states),
        removed_at=max(removals) if removed and removals else None,
    )


def initial_state(event: Event, when: dt.datetime) -> Published:
    """The state of an event no reconcile has seen yet, dated `when` (used for a deterministic render)."""
    return Published(
        event.id, fingerprint_of(event), len(event.history), when.astimezone(dt.UTC), None, snapshot_of(event)
    )


def last_modified_of(states: Iterable[Published]) -> dt.datetime:
    """The latest change among `states`, removals included (EPOCH when there are none)."""
    latest = EPOCH
    for state in states:
        if state.last_modified > latest:
            latest = state.last_modified
        if state.removed_at is not None and state.removed_at > latest:
            latest = state.removed_at
    return latest


def fingerprint_of(event: Event) -> str:
    """A hash of what clients must notice: the times (wall clock, zone and instant), status, title."""
    significant = [
        _moment(event.start),
        _moment(event.end),
        event.all_day,
        event.status.value,
        event.precision.value,  # shown in the title and the STATUS (approximate dates are TENTATIVE)
        event.title,
    ]
    if event.outcome is not None:  # "Unconfirmed: " in the title; appended only when set, so older
        significant.append(event.outcome.value)  # fingerprints (and SEQUENCEs) stay as they were
    if event.rrule is not None:  # a changed rule or exception changes the whole series: a new SEQUENCE
        significant += [event.rrule, [d.isoformat() for d in event.exdates], _moment(event.series_start)]
    return hashlib.sha256(json.dumps(significant, separators=(",", ":")).encode()).hexdigest()[:32]


# --- snapshots: an event as JSON, and back --------------------------------------------------------


def _moment(value: dt.date | dt.datetime | None) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        # The UTC instant pins the fold; the zone name brings back the wall clock.
        return {
            "utc": value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tz": getattr(value.tzinfo, "key", "UTC"),
        }
    return value.isoformat()


def _unmoment(value: Any) -> dt.date | dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    utc = dt.datetime.strptime(value["utc"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return utc.astimezone(timing.zone(value["tz"]))


def snapshot_of(event: Event) -> dict[str, Any]:
    """Everything a feed shows about `event`, as JSON-ready values (lists, strings, numbers).

    The snapshot names its own fields rather than borrowing the API's JSON view: a stored snapshot is
    compared with the next one to decide an event's LAST-MODIFIED, so renaming an API field must not
    look like an edit of every event.
    """
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
        "start": _moment(event.start),
        "end": _moment(event.end),
        "tz": event.tz,
        "precision": event.precision.value,
        "deadline": event.deadline.value if event.deadline else None,
        "deadline_at": _moment(event.deadline_at),
        "superseded_by": event.superseded_by,
        "series_start": _moment(event.series_start),
        "day_tz": event.day_tz,
        "day_moment": event.day_moment.value if event.day_moment else None,
        "sources": [source.model_dump(mode="json", exclude_none=True) for source in event.sources],
        "history": [change.model_dump(mode="json", exclude_none=True) for change in event.history],
        "verified": event.verified.isoformat() if event.verified else None,
        "outcome": event.outcome.value if event.outcome else None,
    }


def moment_from_snapshot(value: Any) -> dt.date | dt.datetime | None:
    """A start or end as a snapshot holds it, back as a date or an aware datetime in its zone."""
    return _unmoment(value)


def event_from_snapshot(snapshot: Mapping[str, Any]) -> Event:
    """Rebuild the Event a snapshot was taken of (to render a tombstone or filter it)."""
    start = _unmoment(snapshot["start"])
    assert start is not None
    deadline_at = _unmoment(snapshot.get("deadline_at"))
    return Event(
        id=snapshot["id"],
        title=snapshot["title"],
        kind=Kind(snapshot["kind"]),
        status=Status(snapshot["status"]),
        countries=tuple(snapshot.get("countries", ())),
        importance=Importance(snapshot.get("importance", "medium")),
        tags=tuple(snapshot.get("tags", ())),
        action=snapshot.get("action"),
        related=tuple(snapshot.get("related", ())),
        authority=Authority(snapshot["authority"]) if snapshot.get("authority") else None,
        hs=tuple(snapshot.get("hs", ())),
        instrument=snapshot.get("instrument"),
        location=snapshot.get("location"),
        description=snapshot.get("description"),
        start=start,
        end=_unmoment(snapshot.get("end")),
        tz=snapshot.get("tz"),
        precision=Precision(snapshot.get("precision", "day")),
        deadline=Anchor(snapshot["deadline"]) if snapshot.get("deadline") else None,
        deadline_at=deadline_at if isinstance(deadline_at, dt.datetime) else None,
        superseded_by=snapshot.get("superseded_by"),
        history=tuple(model.Change.model_validate(c) for c in snapshot.get("history", ())),
        verified=dt.date.fromisoformat(snapshot["verified"]) if snapshot.get("verified") else None,
        sources=tuple(model.Source.model_validate(s) for s in snapshot.get("sources", ())),
        chapter99=tuple(snapshot.get("chapter99", ())),
        day_tz=snapshot.get("day_tz"),
        series=snapshot.get("series"),
        rrule=snapshot.get("rrule"),
        exdates=tuple(dt.date.fromisoformat(d) for d in snapshot.get("exdate", ())),
        series_start=_unmoment(snapshot.get("series_start")),
        day_moment=model.DayMoment(snapshot["day_moment"]) if snapshot.get("day_moment") else None,
        outcome=model.Outcome(snapshot["outcome"]) if snapshot.get("outcome") else None,
    )
