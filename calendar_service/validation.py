"""Check an event file and explain every mistake as `path:line:col: severity: message`.

Structure comes from the models in `model.py` (the same ones the JSON Schema is generated from); the
rules a schema cannot express (references, time zones, countries, order of times, staleness) live here.
Each event is checked on its own so one broken entry never hides the problems of the others.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import pycountry
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from . import model, timing
from .errors import StoreUnreadable
from .model import Status
from .problems import Problem, Severity
from .store import Calendar, Event, content_version, resolve_events
from .yamlsource import Locations, PathKey, parse_yaml

_M = TypeVar("_M", bound=model._Strict)

SPECIAL_COUNTRIES = {"EU": "European Union", "*": "all or most countries"}
STALE_AFTER = dt.timedelta(days=90)
SOON = dt.timedelta(days=30)


@dataclass(frozen=True)
class Outcome:
    """What validation found, and the calendar when there were no errors."""

    problems: tuple[Problem, ...]
    calendar: Calendar | None

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Only the problems that block publishing."""
        return tuple(p for p in self.problems if p.is_error)


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes plus the calendar's special codes."""
    return frozenset(c.alpha_2 for c in pycountry.countries) | frozenset(SPECIAL_COUNTRIES)


def validate_bytes(raw: bytes, path: str, *, today: dt.date) -> Outcome:
    """Validate the bytes of an event file; `today` decides what is past and what is stale."""
    try:
        text = raw.decode("utf-8-sig")  # editors on Windows may add a byte-order mark; it is harmless
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise StoreUnreadable(
            path,
            f"line {line}, column {column}: byte 0x{raw[exc.start]:02x} is not UTF-8 — "
            "save the file as UTF-8 (in VS Code: Save with Encoding → UTF-8)",
        ) from exc
    return _Validator(path, today).run(text, content_version(raw))


class _Validator:
    def __init__(self, path: str, today: dt.date) -> None:
        self.path = path
        self.today = today
        self.problems: list[Problem] = []
        self.locations = Locations()

    # -- reporting -------------------------------------------------------------------------------

    def report(
        self, where: PathKey, message: str, severity: Severity = "error", *, key: bool = False
    ) -> None:
        line, col = self.locations.of(where, key=key)
        self.problems.append(Problem(self.path, line, col, severity, message))

    def warn(self, where: PathKey, message: str, *, key: bool = False) -> None:
        self.report(where, message, "warning", key=key)

    # -- the run ---------------------------------------------------------------------------------

    def run(self, text: str, version: str) -> Outcome:
        parsed = parse_yaml(text, self.path)
        self.locations = parsed.locations
        self.problems.extend(parsed.problems)
        if any(p.is_error for p in parsed.problems) and parsed.data is None:
            return self._outcome(None)
        data = parsed.data
        if not isinstance(data, dict):
            self.report((), "the file must be a mapping with `calendar:` and `events:` at the top")
            return self._outcome(None)
        for key in data:
            if key not in ("calendar", "events"):
                self.report(
                    (key,), f"unknown top-level key {key!r} — only `calendar:` and `events:`", key=True
                )
        meta = self._meta(data)
        events = self._events(data)
        # With broken metadata the events are still checked (in UTC) so every mistake shows at once.
        resolved = self._semantics(meta.timezone if meta else "UTC", events, _raw_ids(data))
        calendar = None
        if meta is not None and not any(p.is_error for p in self.problems):
            ordered = sorted(resolved, key=lambda e: (e.start_utc(timing.zone(meta.timezone)), e.id))
            calendar = Calendar(meta=meta, events=tuple(ordered), version=version, path=self.path)
            self._warnings(meta, events, calendar)
        return self._outcome(calendar)

    def _outcome(self, calendar: Calendar | None) -> Outcome:
        return Outcome(
            tuple(sorted(set(self.problems), key=lambda p: (p.line, p.column, p.message))), calendar
        )

    # -- structure -------------------------------------------------------------------------------

    def _meta(self, data: dict[str, Any]) -> model.CalendarMeta | None:
        if "calendar" not in data:
            self.report((), "missing `calendar:` — add the calendar's name, timezone, reviewed and contact")
            return None
        meta = self._model(model.CalendarMeta, data["calendar"], ("calendar",))
        if meta is not None:
            try:
                timing.zone(meta.timezone)
            except ValueError as exc:
                self.report(("calendar", "timezone"), str(exc))
                return None
        return meta

    def _events(self, data: dict[str, Any]) -> list[tuple[int, model.Event]]:
        raw = data.get("events")
        if raw is None:
            self.report((), "missing `events:` — add a list of events (it may be empty: `events: []`)")
            return []
        if not isinstance(raw, list):
            self.report(("events",), "`events:` must be a list; start each event with `- id: ...`")
            return []
        out = []
        for index, item in enumerate(raw):
            parsed = self._model(model.Event, item, ("events", index))
            if parsed is not None:
                out.append((index, parsed))
        return out

    def _model(self, cls: type[_M], value: Any, at: PathKey) -> _M | None:
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            # A misspelt required field is one mistake, not two: `sorces:` explains the missing `sources`.
            misspelt = {
                error["loc"][:-1] + tuple(close[:1])
                for error in errors
                if error["type"] == "extra_forbidden"
                for close in [
                    difflib.get_close_matches(str(error["loc"][-1]), _fields_at((*at, *error["loc"])))
                ]
            }
            for error in errors:
                if error["type"] == "missing" and error["loc"] in misspelt:
                    continue
                self._pydantic_error(error, at)
            return None

    def _pydantic_error(self, error: ErrorDetails, at: PathKey) -> None:
        loc = tuple(part for part in error["loc"] if isinstance(part, int) or not _is_type_tag(part))
        where = (*at, *loc)
        named = [part for part in loc if isinstance(part, str)]
        name = named[-1] if named else "value"  # `hs` for an error at ("hs", 1), not `1`
        kind = error["type"]
        value = error.get("input")
        if kind == "missing":
            self.report(where[:-1], f"missing required field `{name}` — add `{name}:` {_required_hint(name)}")
        elif kind == "extra_forbidden":
            fields = _fields_at(where)
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f" — did you mean {close[0]!r}?" if close else f" — known fields: {', '.join(fields)}"
            self.report(where, f"unknown field {name!r}{hint}", key=True)
        elif kind == "enum" or kind == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            choices = [part.strip(" '") for part in expected.replace(" or ", ", ").split(", ")]
            close = difflib.get_close_matches(str(value), choices, n=1)
            hint = f"did you mean {close[0]!r}? Known: " if close else "use one of "
            self.report(where, f"unknown {name} {value!r} — {hint}{expected}")
        elif kind.startswith("date") and isinstance(value, str):
            self.report(where, f"{name}: {_date_problem(value)}")
        elif kind == "string_pattern_mismatch":
            self.report(where, f"{name}: {value!r} {_pattern_hint(name)}")
        elif kind == "too_short" and isinstance(value, list):
            self.report(where, f"{name}: needs at least one entry")
        else:
            self.report(where, f"{name}: {error['msg'].removeprefix('Value error, ')}")

    # -- rules across fields and events ----------------------------------------------------------

    def _semantics(
        self, default_tz: str, events: list[tuple[int, model.Event]], raw_ids: list[tuple[int, str]]
    ) -> list[Event]:
        # Ids come from the raw entries too: an event with a typo elsewhere still exists for references
        # and still collides with a duplicate, so one mistake does not cause misleading others.
        seen: dict[str, int] = {}
        for index, event_id in raw_ids:
            if event_id in seen:
                first_line = self.locations.of(("events", seen[event_id], "id"))[0]
                self.report(
                    ("events", index, "id"),
                    f"duplicate id {event_id!r} (first at line {first_line}) — ids must be unique; "
                    "give one of them a new id",
                )
            else:
                seen[event_id] = index
        ids = set(seen)
        parsed_ids = {event.id for _, event in events}
        for index, event in events:
            self._fields(("events", index), event, ids)
        unique = [(index, event) for index, event in events if seen.get(event.id) == index]
        resolvable = unique
        lines = [self.locations.of(("events", index))[0] for index, _ in resolvable]
        resolved, issues = resolve_events([event for _, event in resolvable], default_tz, lines)
        errors_at = {(p.line, p.column) for p in self.problems if p.is_error}
        for issue in issues:
            index, event = resolvable[issue.index]
            if issue.field == "after" and event.after is not None and event.after.event not in parsed_ids:
                continue  # reported at `after.event`, or the anchor has its own error
            if self.locations.of(("events", index, issue.field)) in errors_at:
                continue  # the field already has an error that explains this one
            self.report(("events", index, issue.field), issue.message)
        self._clocks(dict((event.id, (index, event)) for index, event in unique), resolved)
        return resolved

    def _clocks(self, raw: dict[str, tuple[int, model.Event]], resolved: list[Event]) -> None:
        """Check the resolved times: wall clocks that DST skips or repeats, hours on all-day dates."""
        by_id = {event.id: event for event in resolved}
        for event in resolved:
            index, written = raw[event.id]
            at: PathKey = ("events", index)
            if (
                written.duration is not None
                and written.after is not None
                and event.all_day
                and timing.parse_duration(written.duration).seconds
            ):
                self.report(
                    (*at, "duration"),
                    f"duration {written.duration!r} counts hours or minutes but the event is all-day — "
                    "use whole days (e.g. P1D) or add `time:`",
                )
            after = written.after
            if after is not None and timing.parse_duration(after.offset).seconds:
                anchor = by_id.get(after.event)
                if anchor is not None and anchor.all_day:
                    self.report(
                        (*at, "after", "offset"),
                        f"offset {after.offset!r} counts hours or minutes but {after.event!r} is all-day — "
                        "use whole days (e.g. P1D) or give that event a `time:`",
                    )
            if isinstance(event.start, dt.datetime):
                self._wall_clock(event.start, (*at, "time" if written.time else "after"))
            if isinstance(event.end, dt.datetime):
                self._wall_clock(event.end, (*at, "end_time" if written.end_time else "duration"))

    def _wall_clock(self, moment: dt.datetime, where: PathKey) -> None:
        change = timing.clock_change(moment)
        if change is None:
            return
        zone_name = getattr(moment.tzinfo, "key", str(moment.tzinfo))
        local = f"{moment:%H:%M} in {zone_name} on {moment:%Y-%m-%d}"
        before, after = (f"{t:%H:%M}" for t in change)
        if not timing.wall_clock_exists(moment):
            self.report(
                where,
                f"{moment:%H:%M} does not exist in {zone_name} on {moment:%Y-%m-%d} — clocks jump from "
                f"{before} to {after}; use the time the source means, e.g. {after}",
            )
        else:
            first = moment.replace(fold=0).strftime("%Z, UTC%z")
            self.warn(
                where,
                f"{local} happens twice (clocks go back from {before} to {after}) — the first ({first}) "
                "is used; check that the source means that one",
            )

    def _fields(self, at: PathKey, event: model.Event, ids: set[str]) -> None:
        codes = country_codes()
        for i, code in enumerate(event.countries):
            if code not in codes:
                guess = _country_guess(code)
                hint = f"did you mean {guess}? " if guess else ""
                self.report(
                    (*at, "countries", i),
                    f"unknown country {code!r} — {hint}use ISO 3166-1 alpha-2 codes, EU or '*'",
                )
        for field in ("tz", "end_tz"):
            name = getattr(event, field)
            if name is not None:
                try:
                    timing.zone(name)
                except ValueError as exc:
                    self.report((*at, field), str(exc))
        if event.tz is not None and event.time is None:
            self.report((*at, "tz"), "a time zone on an all-day date — add `time:` or remove `tz:`")
        if event.end_tz is not None and event.end_time is None:
            self.report((*at, "end_tz"), "`end_tz` without `end_time` — add `end_time:` or remove `end_tz:`")
        if event.date is not None and event.after is not None:
            self.report((*at, "after"), "both `date` and `after` — keep one: a fixed date or a derived one")
        if event.duration is not None and (event.end_date is not None or event.end_time is not None):
            self.report(
                (*at, "duration"),
                "both `duration` and an end date/time — keep one: the duration (e.g. P90D) or "
                "`end_date` (the last day, inclusive)",
            )
        if event.duration is not None and not timing.parse_duration(event.duration).is_positive:
            self.report(
                (*at, "duration"),
                f"duration {event.duration!r} must be longer than zero — e.g. P1D, or remove it",
            )
        elif (
            event.duration is not None
            and event.time is None
            and event.after is None
            and timing.parse_duration(event.duration).seconds
        ):
            self.report(
                (*at, "duration"),
                f"duration {event.duration!r} counts hours or minutes but the event is all-day — "
                "use whole days (e.g. P1D) or add `time:`",
            )
        if event.status is Status.SUPERSEDED and event.superseded_by is None:
            self.report(
                (*at, "status"),
                "status superseded without `superseded_by:` — name the event that replaced it",
            )
        refs: list[tuple[PathKey, str]] = []
        if event.superseded_by is not None:
            refs.append(((*at, "superseded_by"), event.superseded_by))
        if event.after is not None:
            refs.append(((*at, "after", "event"), event.after.event))
        refs.extend(((*at, "related", i), ref) for i, ref in enumerate(event.related))
        for where, ref in refs:
            if ref == event.id:
                self.report(where, f"{ref!r} refers to the event itself — name another event")
            elif ref not in ids:
                close = difflib.get_close_matches(ref, sorted(ids), n=1)
                hint = f" — did you mean {close[0]!r}?" if close else ""
                self.report(where, f"no event with id {ref!r} in this file{hint}")
        for i, change in enumerate(event.history):
            if change.was is not None and change.was.tz is not None:
                try:
                    timing.zone(change.was.tz)
                except ValueError as exc:
                    self.report((*at, "history", i, "was", "tz"), str(exc))

    # -- warnings --------------------------------------------------------------------------------

    def _warnings(
        self, meta: model.CalendarMeta, events: Sequence[tuple[int, model.Event]], cal: Calendar
    ) -> None:
        index_of = {event.id: index for index, event in events}
        tz = cal.tz
        today_start = dt.datetime.combine(self.today, dt.time(0), tzinfo=tz)
        for event in cal.events:
            at: PathKey = ("events", index_of[event.id])
            end = event.end_utc(tz) or event.start_utc(tz)
            if event.status in (Status.SCHEDULED, Status.TENTATIVE) and end < today_start:
                self.warn(
                    (*at, "status"),
                    f"{event.id!r} is in the past but still {event.status.value} — set it to held, "
                    "cancelled or postponed",
                )
            if event.status is Status.HELD and event.start_utc(tz) > today_start + dt.timedelta(days=1):
                self.warn(
                    (*at, "status"),
                    f"{event.id!r} is marked held but has not happened yet — set it to scheduled",
                )
            if event.deadline_at is not None and event.is_live:
                checked = event.verified or meta.reviewed
                if (
                    today_start <= event.deadline_at <= today_start + SOON
                    and self.today - checked > STALE_AFTER
                ):
                    self.warn(
                        (*at, "id"),
                        f"deadline within 30 days but last verified {checked} — re-check the "
                        "sources and set `verified:`",
                    )
            if event.superseded_by is not None and event.status is not Status.SUPERSEDED:
                self.warn(
                    (*at, "superseded_by"),
                    "`superseded_by` on an event that is not superseded — set "
                    "status: superseded or remove the link",
                )
            if event.superseded_by is not None and event.superseded_by in cal:
                successor = cal.get(event.superseded_by)
                if not successor.is_live:
                    self.warn(
                        (*at, "superseded_by"),
                        f"successor {successor.id!r} is itself "
                        f"{successor.status.value} — point at the event that stands now",
                    )
            if event.precision.value == "exact" and event.all_day:
                self.warn(
                    (*at, "precision"), "precision exact but no `time:` — add the time or say precision: day"
                )
            for i, source in enumerate(event.sources):
                if source.url is not None and source.url.startswith("http://"):
                    self.warn(
                        (*at, "sources", i, "url"),
                        "source URL is not https — use the https address if the site has one",
                    )
            for i, change in enumerate(event.history):
                if change.kind in ("rescheduled", "postponed") and change.was is None:
                    self.warn(
                        (*at, "history", i),
                        f"a {change.kind} change without `was:` — record the old date "
                        "so subscribers see what moved",
                    )
        self._duplicate_titles(cal, index_of)

    def _duplicate_titles(self, cal: Calendar, index_of: dict[str, int]) -> None:
        seen: dict[tuple[str, str], str] = {}
        for event in cal.events:
            key = (event.title.casefold(), str(event.start))
            if key in seen:
                self.warn(
                    ("events", index_of[event.id], "title"),
                    f"same title and start as {seen[key]!r} — is this a duplicate entry?",
                )
            else:
                seen[key] = event.id


def _raw_ids(data: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, id) of every entry under `events:` that has a text id, valid or not."""
    raw = data.get("events")
    if not isinstance(raw, list):
        return []
    return [
        (index, item["id"])
        for index, item in enumerate(raw)
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


def _is_type_tag(part: str) -> bool:
    # pydantic adds union member names ("literal['none']", "function-after[...]") to error locations.
    return "[" in part or part in {"str", "int", "float", "bool"}


def _fields_at(where: PathKey) -> list[str]:
    parents: dict[str, type[model._Strict]] = {
        "calendar": model.CalendarMeta,
        "sources": model.Source,
        "source": model.Source,
        "after": model.DerivedTime,
        "history": model.Change,
        "was": model.Moment,
    }
    for part in reversed(where[:-1]):
        if isinstance(part, str):
            cls = parents.get(part, model.Event)
            return sorted(cls.model_fields)
    return sorted(model.Event.model_fields) if len(where) > 2 else ["calendar", "events"]


def _pattern_hint(name: str) -> str:
    hints = {
        "id": "is not a slug — use lowercase letters, digits and hyphens, e.g. us-cn-geneva-talks-2025",
        "time": "is not a time — write HH:MM on a 24-hour clock, e.g. 00:01",
        "end_time": "is not a time — write HH:MM on a 24-hour clock, e.g. 00:01",
        "duration": "is not an ISO 8601 duration — write e.g. P90D, P1W or PT2H",
        "offset": "is not an ISO 8601 duration — write e.g. P90D or -P7D",
        "hs": "is not an HS code — 2, 4, 6, 8 or 10 digits, e.g. 85 or 854231",
    }
    return hints.get(name, "is not a lowercase slug (letters, digits, hyphens)")


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Codes curators reach for that ISO 3166-1 spells differently (EL is the EU's code for Greece).
_COUNTRY_ALIASES = {"UK": ("GB", "United Kingdom"), "EL": ("GR", "Greece")}


def _date_problem(value: str) -> str:
    """Explain why `value` is not a date: wrong shape, or a day the calendar does not have."""
    parts = value.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or [len(p) for p in parts] != [4, 2, 2]:
        return f"{value!r} is not a date — write YYYY-MM-DD, e.g. 2025-08-12"
    year, month, _day = (int(p) for p in parts)
    if not 1 <= month <= 12:
        return f"{value!r} has no month {month} — write YYYY-MM-DD (month 01–12)"
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 29 if month == 2 and leap else _MONTH_DAYS[month - 1]
    name = dt.date(2000, month, 1).strftime("%B")
    return f"{value!r} is not a real date — {name} {year} has {days} days"


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


def _required_hint(name: str) -> str:
    hints = {
        "sources": "with at least one source (title, and url where there is one)",
        "countries": "with ISO 3166-1 alpha-2 codes, e.g. [US, CN]",
        "kind": "(talks, truce, tariff, deadline, …)",
        "timezone": "with an IANA zone, e.g. America/New_York",
    }
    return hints.get(name, "to this entry")


def format_problems(problems: Iterable[Problem]) -> str:
    """One line per problem, errors and warnings in file order."""
    return "\n".join(p.format() for p in problems)
