"""The rules a schema cannot express: references, time zones, countries, and times that must add up.

These run on the events that fit the models, across fields of one event and across events, and report
errors only; what is merely worth a second look is in `warnings.py`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pycountry

from calendar_service.core import model, timing
from calendar_service.core.calendar import Event, resolve_events
from calendar_service.core.history import steps, time_text
from calendar_service.core.model import Status
from calendar_service.core.validation.findings import Findings
from calendar_service.core.validation.suggestions import IdSuggester
from calendar_service.core.yamlsource import PathKey

MAX_CHAIN = 100  # `after:` links followed from one event to the one with a date
SPECIAL_COUNTRIES = {"EU": "European Union", "*": "all or most countries"}
# Codes curators reach for that ISO 3166-1 spells differently (EL is the EU's code for Greece).
_COUNTRY_ALIASES = {"UK": ("GB", "United Kingdom"), "EL": ("GR", "Greece")}


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes plus the calendar's special codes."""
    return frozenset(c.alpha_2 for c in pycountry.countries) | frozenset(SPECIAL_COUNTRIES)


def raw_event_ids(data: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, id) of every entry under `events:` that has a text id, valid or not."""
    raw = data.get("events")
    if not isinstance(raw, list):
        return []
    return [
        (index, item["id"])
        for index, item in enumerate(raw)
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


def check_rules(
    found: Findings,
    default_tz: str,
    events: list[tuple[int, model.Event]],
    raw_ids: list[tuple[int, str]],
) -> list[Event]:
    """Check ids, references and times across fields and events; return the events whose times resolve."""
    # Ids come from the raw entries too: an event with a typo elsewhere still exists for references
    # and still collides with a duplicate, so one mistake does not cause misleading others.
    seen: dict[str, int] = {}
    for index, event_id in raw_ids:
        if event_id in seen:
            first_line = found.locations.of(("events", seen[event_id], "id"))[0]
            found.report(
                ("events", index, "id"),
                f"duplicate id {event_id!r} (first at line {first_line}) — ids must be unique; "
                "give one of them a new id",
            )
        else:
            seen[event_id] = index
    ids = set(seen)
    parsed_ids = {event.id for _, event in events}
    suggester = IdSuggester(ids)
    for index, event in events:
        _check_fields(found, ("events", index), event, ids, suggester)
        check_tariff_codes(found, ("events", index), event)
        check_history_zones(found, ("events", index), event)
        check_whole_day_fields(found, ("events", index), event)
    unique = [(index, event) for index, event in events if seen.get(event.id) == index]
    resolvable = _within_chain_limit(found, unique)
    lines = [found.locations.of(("events", index))[0] for index, _ in resolvable]
    resolved, issues = resolve_events([event for _, event in resolvable], default_tz, lines)
    errors_at = {(p.line, p.column) for p in found.problems if p.is_error}
    for issue in issues:
        index, event = resolvable[issue.index]
        if issue.field == "after" and event.after is not None and event.after.event not in parsed_ids:
            continue  # reported at `after.event`, or the anchor has its own error
        where: PathKey = ("events", index, *issue.field.split("."))  # "repeat.rrule": a nested field
        if found.locations.of(where) in errors_at:
            continue  # the field already has an error that explains this one
        found.report(where, issue.message)
    by_id = dict((event.id, (index, event)) for index, event in unique)
    _check_clocks(found, by_id, resolved)
    check_history_moves(found, by_id, resolved, default_tz)
    check_occurrence_ids(found, resolved, seen)
    return resolved


def _check_clocks(found: Findings, raw: dict[str, tuple[int, model.Event]], resolved: list[Event]) -> None:
    """Check the resolved times: wall clocks that DST skips or repeats, hours on all-day dates."""
    by_id = {event.id: event for event in resolved}
    for event in resolved:
        index, written = raw[event.series or event.id]
        at: PathKey = ("events", index)
        if (
            written.duration is not None
            and written.after is not None
            and event.all_day
            and timing.parse_duration(written.duration).seconds
        ):
            found.report(
                (*at, "duration"),
                f"duration {written.duration!r} counts hours or minutes but the event is all-day — "
                "use whole days (e.g. P1D) or add `time:`",
            )
        after = written.after
        if after is not None and timing.parse_duration(after.offset).seconds:
            anchor = by_id.get(after.event)
            if anchor is not None and anchor.all_day:
                found.report(
                    (*at, "after", "offset"),
                    f"offset {after.offset!r} counts hours or minutes but {after.event!r} is all-day — "
                    "use whole days (e.g. P1D) or give that event a `time:`",
                )
        if isinstance(event.start, dt.datetime):
            _check_wall_clock(found, event.start, (*at, "time" if written.time else "after"))
        if isinstance(event.end, dt.datetime):
            _check_wall_clock(found, event.end, (*at, "end_time" if written.end_time else "duration"))


def _check_wall_clock(found: Findings, moment: dt.datetime, where: PathKey) -> None:
    change = timing.clock_change(moment)
    if change is None:
        return
    zone_name = getattr(moment.tzinfo, "key", str(moment.tzinfo))
    local = f"{moment:%H:%M} in {zone_name} on {moment:%Y-%m-%d}"
    before, after = (f"{t:%H:%M}" for t in change)
    if not timing.wall_clock_exists(moment):
        found.report(
            where,
            f"{moment:%H:%M} does not exist in {zone_name} on {moment:%Y-%m-%d} — clocks jump from "
            f"{before} to {after}; use the time the source means, e.g. {after}",
        )
    else:
        first = moment.replace(fold=0).strftime("%Z, UTC%z")
        found.warn(
            where,
            f"{local} happens twice (clocks go back from {before} to {after}) — the first ({first}) "
            "is used; check that the source means that one",
        )


def _within_chain_limit(
    found: Findings, events: list[tuple[int, model.Event]]
) -> list[tuple[int, model.Event]]:
    """The events derived through at most MAX_CHAIN `after:` links; the others are reported.

    Resolving follows the links recursively, so a long chain (events listed after-first) would exhaust
    Python's stack; nobody derives a date through a hundred others.
    """
    after = {event.id: event.after.event for _, event in events if event.after is not None}
    depth: dict[str, int] = {}
    for start in after:
        path: list[str] = []
        on_path: set[str] = set()
        node = start
        while node in after and node not in depth and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = after[node]
        reached = 0 if node in on_path else depth.get(node, 0)  # a cycle is reported by resolving
        for link in reversed(path):
            reached += 1
            depth[link] = reached
    kept = []
    for index, event in events:
        links = depth.get(event.id, 0)
        if links > MAX_CHAIN:
            found.report(
                ("events", index, "after"),
                f"derived through a chain of {links} `after:` links, more than {MAX_CHAIN} — give one "
                "of the events in the chain a `date:`",
            )
        else:
            kept.append((index, event))
    return kept


def _check_fields(
    found: Findings, at: PathKey, event: model.Event, ids: set[str], suggester: IdSuggester
) -> None:
    codes = country_codes()
    for i, code in enumerate(event.countries):
        if code not in codes:
            guess = _country_guess(code)
            hint = f"did you mean {guess}? " if guess else ""
            found.report(
                (*at, "countries", i),
                f"unknown country {code!r} — {hint}use ISO 3166-1 alpha-2 codes, EU or '*'",
            )
    for field in ("tz", "end_tz"):
        name = getattr(event, field)
        if name is not None:
            try:
                timing.zone(name)
            except ValueError as exc:
                found.report((*at, field), str(exc))
    if event.tz is not None and event.time is None:
        found.report((*at, "tz"), "a time zone on an all-day date — add `time:` or remove `tz:`")
    if event.end_tz is not None and event.end_time is None:
        found.report((*at, "end_tz"), "`end_tz` without `end_time` — add `end_time:` or remove `end_tz:`")
    if event.date is not None and event.after is not None:
        found.report((*at, "after"), "both `date` and `after` — keep one: a fixed date or a derived one")
    if event.duration is not None and (event.end_date is not None or event.end_time is not None):
        found.report(
            (*at, "duration"),
            "both `duration` and an end date/time — keep one: the duration (e.g. P90D) or "
            "`end_date` (the last day, inclusive)",
        )
    if event.duration is not None and not timing.parse_duration(event.duration).is_positive:
        found.report(
            (*at, "duration"),
            f"duration {event.duration!r} must be longer than zero — e.g. P1D, or remove it",
        )
    elif (
        event.duration is not None
        and event.time is None
        and event.after is None
        and timing.parse_duration(event.duration).seconds
    ):
        found.report(
            (*at, "duration"),
            f"duration {event.duration!r} counts hours or minutes but the event is all-day — "
            "use whole days (e.g. P1D) or add `time:`",
        )
    if event.status is Status.SUPERSEDED and event.superseded_by is None:
        found.report(
            (*at, "status"),
            "status superseded without `superseded_by:` — name the event that replaced it",
        )
    if event.outcome is not None and event.status is not Status.TENTATIVE:
        found.report(
            (*at, "outcome"),
            f"outcome {event.outcome.value} on a {event.status.value} event — only a tentative event can "
            "have an unconfirmed outcome: set status: tentative, or remove `outcome:` once a source says "
            "what happened",
        )
    refs: list[tuple[PathKey, str]] = []
    if event.superseded_by is not None:
        refs.append(((*at, "superseded_by"), event.superseded_by))
    if event.after is not None:
        refs.append(((*at, "after", "event"), event.after.event))
    refs.extend(((*at, "related", i), ref) for i, ref in enumerate(event.related))
    for where, ref in refs:
        if ref == event.id:
            found.report(where, f"{ref!r} refers to the event itself — name another event")
        elif ref not in ids:
            close = suggester.suggest(ref)
            hint = f" — did you mean {close!r}?" if close else ""
            found.report(where, f"no event with id {ref!r} in this file{hint}")


def _country_guess(code: str) -> str | None:
    """A likely meant code for a wrong country: case, a common non-ISO code, or a country's name."""
    upper = code.strip().upper()
    if upper in country_codes():
        return repr(upper)
    if upper in _COUNTRY_ALIASES:
        meant, name = _COUNTRY_ALIASES[upper]
        return f"{meant!r} ({name})"
    try:
        found = pycountry.countries.lookup(code.strip())
    except LookupError:
        return None
    return f"{found.alpha_2!r} ({found.name})"


def check_tariff_codes(found: Findings, at: PathKey, event: model.Event) -> None:
    """HS product codes and US chapter 99 headings are different things: keep each in its own list."""
    for i, code in enumerate(event.hs):
        if code.startswith("99"):
            # HS chapter 99 is reserved for national use; in the US it holds the 9903 tariff measures.
            dotted = f"{code[:4]}.{code[4:6]}.{code[6:8]}" if len(code) == 8 else "9903.xx.xx"
            found.report(
                (*at, "hs", i),
                f"hs: {code!r} is a US chapter 99 heading, not an HS product code — move it to "
                f"`chapter99:` as {dotted}",
            )
    for i, heading in enumerate(event.chapter99):
        low, _, high = heading.partition("-")
        if high and high <= low:
            found.report(
                (*at, "chapter99", i),
                f"chapter99: the range {heading!r} ends before it starts — write the lower heading first, "
                f"e.g. {high}-{low}",
            )


def check_history_zones(found: Findings, at: PathKey, event: model.Event) -> None:
    """The zones of an earlier time (`was.tz`, `was.end_tz`) must exist, or "was → now" means nothing."""
    for i, change in enumerate(event.history):
        for field in ("tz", "end_tz"):
            name = getattr(change.was, field, None)
            if name is not None:
                try:
                    timing.zone(name)
                except ValueError as exc:
                    found.report((*at, "history", i, "was", field), str(exc))


def check_history_moves(
    found: Findings, raw: dict[str, tuple[int, model.Event]], resolved: list[Event], default_tz: str
) -> None:
    """A history step's `was` must differ from the time that followed it (the next step's `was`, or the
    event's time now): one equal to it records a move that never happened, and every view would show
    "was X → now X"."""
    for event in resolved:
        if event.series is not None and event.start != event.series_start:
            continue  # a series' history is the entry's: checked once, against its first date
        index, _ = raw[event.series or event.id]
        try:
            resolved_steps = steps(event, default_tz)
        except ValueError:
            continue  # an unknown zone, reported by check_history_zones
        place = {id(change): i for i, change in enumerate(event.history)}  # where the file has each step
        for step in resolved_steps:
            i = place[id(step.change)]
            was = step.change.was
            if was is None or was.end_date is not None or was.end_time is not None:
                continue  # an earlier end may differ even where the start did not
            if step.before is not None and step.after is not None and _same_time(step.before, step.after):
                found.report(
                    ("events", index, "history", i, "was"),
                    f"`was` is the time the event has after this change ({time_text(step.after)}): the "
                    "step moved nothing — remove `was` (the `kind` says what happened) or write the time "
                    "it had before",
                )


def _same_time(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b  # aware: compared as instants
    return not isinstance(a, dt.datetime) and not isinstance(b, dt.datetime) and a == b


def check_whole_day_fields(found: Findings, at: PathKey, event: model.Event) -> None:
    """`day_tz` and `day_moment` say how to read a whole day; on a clock time they would mean nothing."""
    if event.time is None:
        return
    for field in ("day_tz", "day_moment"):
        if getattr(event, field) is not None:
            found.report(
                (*at, field),
                f"`{field}` on an event with a clock time — it is for whole days only; the time's `tz` "
                f"already says when it is (remove `{field}:` or `time:`)",
            )


def check_occurrence_ids(found: Findings, resolved: list[Event], seen: dict[str, int]) -> None:
    """A repeating entry's dates are published as `<id>-YYYY-MM-DD`: no other entry may have that id."""
    for event in resolved:
        if event.series is not None and event.id in seen:
            found.report(
                ("events", seen[event.series], "repeat"),
                f"the occurrence on {event.id.removeprefix(event.series + '-')} would be published as "
                f"{event.id!r}, which is another entry's id — rename that entry or add an exdate",
            )
