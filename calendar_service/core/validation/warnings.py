"""Warnings on a calendar that is otherwise valid: stale statuses and checks, links, duplicates.

None of these blocks publishing; each names what a curator should look at again. `today` decides what
is past and what is stale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from calendar_service.core import model
from calendar_service.core.calendar import Calendar, Event
from calendar_service.core.model import Status
from calendar_service.core.validation.findings import Findings
from calendar_service.core.yamlsource import PathKey

STALE_AFTER = dt.timedelta(days=90)
SOON = dt.timedelta(days=30)


def check_warnings(
    found: Findings,
    meta: model.CalendarMeta,
    events: Sequence[tuple[int, model.Event]],
    cal: Calendar,
    today: dt.date,
) -> None:
    """Warn about each event of a valid calendar that looks out of date or inconsistent."""
    index_of = {event.id: index for index, event in events}
    tz = cal.tz
    today_start = dt.datetime.combine(today, dt.time(0), tzinfo=tz)
    # A series has one status for all its dates: it is past only when its last date is.
    last_of_series = {event.series: event.id for event in cal.events if event.series is not None}
    for event in cal.events:
        at: PathKey = ("events", index_of[event.series or event.id])
        end = event.end_utc(tz) or event.start_utc(tz)
        settled = event.series is None or last_of_series[event.series] == event.id
        recorded = event.outcome is model.Outcome.UNCONFIRMED
        if event.status in (Status.SCHEDULED, Status.TENTATIVE) and end < today_start and settled:
            if not recorded:  # `outcome: unconfirmed` is the curator's answer: looked, no source says
                found.warn(
                    (*at, "status"),
                    f"{_named(event)} is in the past but still {event.status.value} — set it to held, "
                    "cancelled or postponed",
                )
        elif recorded and end >= today_start:
            found.warn(
                (*at, "outcome"),
                f"{_named(event)} is marked outcome: unconfirmed but its date has not passed — remove "
                "`outcome:`",
            )
        if event.status is Status.HELD and event.start_utc(tz) > today_start + dt.timedelta(days=1):
            found.warn(
                (*at, "status"),
                f"{event.id!r} is marked held but has not happened yet — set it to scheduled",
            )
        if event.deadline_at is not None and event.is_live:
            checked = event.verified or meta.reviewed
            if today_start <= event.deadline_at <= today_start + SOON and today - checked > STALE_AFTER:
                found.warn(
                    (*at, "id"),
                    f"deadline within 30 days but last verified {checked} — re-check the "
                    "sources and set `verified:`",
                )
        if event.superseded_by is not None and event.status is not Status.SUPERSEDED:
            found.warn(
                (*at, "superseded_by"),
                "`superseded_by` on an event that is not superseded — set "
                "status: superseded or remove the link",
            )
        if event.superseded_by is not None and event.superseded_by in cal:
            successor = cal.get(event.superseded_by)
            if not successor.is_live:
                found.warn(
                    (*at, "superseded_by"),
                    f"successor {successor.id!r} is itself "
                    f"{successor.status.value} — point at the event that stands now",
                )
        if event.precision.value == "exact" and event.all_day:
            found.warn(
                (*at, "precision"), "precision exact but no `time:` — add the time or say precision: day"
            )
        for i, source in enumerate(event.sources):
            if source.url is not None and source.url.startswith("http://"):
                found.warn(
                    (*at, "sources", i, "url"),
                    "source URL is not https — use the https address if the site has one",
                )
        for i, change in enumerate(event.history):
            if change.kind in ("rescheduled", "postponed") and change.was is None:
                found.warn(
                    (*at, "history", i),
                    f"a {change.kind} change without `was:` — record the old date "
                    "so subscribers see what moved",
                )
    for index, written in events:
        if written.id in cal:
            check_history_times(found, ("events", index), cal.get(written.id))
    _duplicate_titles(found, cal, index_of)


def check_history_times(found: Findings, at: PathKey, event: Event) -> None:
    """A timed event that moved should say at what clock time it was, not just on which day."""
    if event.all_day:
        return
    for i, change in enumerate(event.history):
        if change.kind in ("rescheduled", "postponed") and change.was is not None and change.was.time is None:
            found.warn(
                (*at, "history", i, "was"),
                f"the {change.kind} change records the old date but not its time — add `time:` (and "
                "`tz:` if it was in another zone) so subscribers see what moved",
            )


def _duplicate_titles(found: Findings, cal: Calendar, index_of: dict[str, int]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for event in cal.events:
        key = (event.title.casefold(), str(event.start))
        if key in seen:
            found.warn(
                ("events", index_of[event.series or event.id], "title"),
                f"same title and start as {seen[key]!r} — is this a duplicate entry?",
            )
        else:
            seen[key] = event.id


def _named(event: Event) -> str:
    """How a warning names an event: a series by its own id and last date, since its status is shared."""
    if event.series is None:
        return repr(event.id)
    return f"the series {event.series!r} (last date {event.id.removeprefix(event.series + '-')})"
