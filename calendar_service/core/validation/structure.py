"""Check the file's shape against the models and turn each pydantic error into a located sentence.

The models in `model.py` (the ones the JSON Schema is generated from) say what is allowed; this module
says where a value breaks them and what to write instead. Each event is checked on its own so one
broken entry never hides the problems of the others.
"""

from __future__ import annotations

import calendar
import difflib
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from calendar_service.core import model, timing
from calendar_service.core.validation.findings import Findings
from calendar_service.core.yamlsource import PathKey

_M = TypeVar("_M", bound=model._Strict)


def check_meta(found: Findings, data: dict[str, Any]) -> model.CalendarMeta | None:
    """The `calendar:` block as a model, or None (with the reasons reported) when it is unusable."""
    if "calendar" not in data:
        found.report((), "missing `calendar:` — add the calendar's name, timezone, reviewed and contact")
        return None
    meta = check_model(found, model.CalendarMeta, data["calendar"], ("calendar",))
    if meta is not None:
        try:
            timing.zone(meta.timezone)
        except ValueError as exc:
            found.report(("calendar", "timezone"), str(exc))
            return None
    return meta


def check_events(found: Findings, data: dict[str, Any]) -> list[tuple[int, model.Event]]:
    """(index, model) of every entry under `events:` that fits the model; the others are reported."""
    raw = data.get("events")
    if raw is None:
        found.report((), "missing `events:` — add a list of events (it may be empty: `events: []`)")
        return []
    if not isinstance(raw, list):
        found.report(("events",), "`events:` must be a list; start each event with `- id: ...`")
        return []
    out = []
    for index, item in enumerate(raw):
        parsed = check_model(found, model.Event, item, ("events", index))
        if parsed is not None:
            out.append((index, parsed))
    return out


def check_quoting(found: Findings, typed: list[tuple[PathKey, str]]) -> None:
    """Ask for quotes around plain values that YAML 1.2 tools read as numbers or booleans.

    This validator keeps every value as the text written, but the JSON Schema wants text everywhere and
    the tools that check it (editors, check-jsonschema) read YAML 1.2: to them `hs: [0201]` is the number
    201, refused, and the leading zero is gone. Quoting makes every reader see the same value. A value
    that already has a problem at its place keeps that one message.
    """
    taken = {(p.line, p.column) for p in found.problems}
    for where, text in typed:
        if found.locations.of(where) in taken:
            continue
        named = [part for part in where if isinstance(part, str)]
        name = named[-1] if named else "value"
        if name == "hs":
            what = "a number (dropping any leading zero)"
        else:
            what = "true/false" if text.lower() in ("true", "false") else "a number"
        found.report(
            where,
            f"{name}: {text} is unquoted, so YAML tools (editors, check-jsonschema) read it as {what} and "
            f"the JSON Schema refuses it — write '{text}'",
        )


def check_model(found: Findings, cls: type[_M], value: Any, at: PathKey) -> _M | None:
    """`value` as a `cls`, or None with every pydantic error reported at its place under `at`."""
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A misspelt required field is one mistake, not two: `sorces:` explains the missing `sources`.
        misspelt = {
            error["loc"][:-1] + tuple(close[:1])
            for error in errors
            if error["type"] == "extra_forbidden"
            for close in [difflib.get_close_matches(str(error["loc"][-1]), _fields_at((*at, *error["loc"])))]
        }
        for error in errors:
            if error["type"] == "missing" and error["loc"] in misspelt:
                continue
            _report_pydantic_error(found, error, at)
        return None


def _report_pydantic_error(found: Findings, error: ErrorDetails, at: PathKey) -> None:
    loc = tuple(part for part in error["loc"] if isinstance(part, int) or not _is_type_tag(part))
    where = (*at, *loc)
    named = [part for part in loc if isinstance(part, str)]
    name = named[-1] if named else "value"  # `hs` for an error at ("hs", 1), not `1`
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        found.report(where[:-1], f"missing required field `{name}` — add `{name}:` {_required_hint(name)}")
    elif kind == "extra_forbidden":
        fields = _fields_at(where)
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" — did you mean {close[0]!r}?" if close else f" — known fields: {', '.join(fields)}"
        found.report(where, f"unknown field {name!r}{hint}", key=True)
    elif kind == "enum" or kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        choices = [part.strip(" '") for part in expected.replace(" or ", ", ").split(", ")]
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"did you mean {close[0]!r}? Known: " if close else "use one of "
        found.report(where, f"unknown {name} {value!r} — {hint}{expected}")
    elif kind.startswith("date") and isinstance(value, str):
        found.report(where, f"{name}: {_date_problem(value)}")
    elif kind == "string_pattern_mismatch":
        found.report(where, f"{name}: {value!r} {_pattern_hint(name)}")
    elif kind == "too_short" and isinstance(value, list):
        found.report(where, f"{name}: needs at least one entry")
    else:
        found.report(where, f"{name}: {error['msg'].removeprefix('Value error, ')}")


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
        "actions": model.Action,
    }
    for part in reversed(where[:-1]):
        if isinstance(part, str):
            cls = parents.get(part, model.Event)
            return sorted(cls.model_fields)
    return sorted(model.Event.model_fields) if len(where) > 2 else ["actions", "calendar", "events"]


def _pattern_hint(name: str) -> str:
    hints = {
        "id": "is not a slug — use lowercase letters, digits and hyphens, e.g. us-cn-geneva-talks-2025",
        "time": "is not a time — write HH:MM on a 24-hour clock, e.g. 00:01",
        "end_time": "is not a time — write HH:MM on a 24-hour clock, e.g. 00:01",
        "duration": "is not an ISO 8601 duration — write e.g. P90D, P1W or PT2H",
        "offset": "is not an ISO 8601 duration — write e.g. P90D or -P7D",
        "hs": "is not an HS code — 2, 4, 6, 8 or 10 digits without dots or spaces, e.g. 85, 8541 or "
        "85411000 (a US 9903.xx.xx heading goes under `chapter99:`)",
        "chapter99": "is not a US chapter 99 heading — write 9903.xx.xx, e.g. 9903.01.25, or a range "
        "9903.01.43-9903.01.76",
    }
    return hints.get(name, "is not a lowercase slug (letters, digits, hyphens)")


def _date_problem(value: str) -> str:
    """Explain why `value` is not a date: wrong shape, or a day the calendar does not have."""
    parts = value.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or [len(p) for p in parts] != [4, 2, 2]:
        return f"{value!r} is not a date — write YYYY-MM-DD, e.g. 2025-08-12"
    year, month, _day = (int(p) for p in parts)
    if not 1 <= month <= 12:
        return f"{value!r} has no month {month} — write YYYY-MM-DD (month 01–12)"
    days = calendar.monthrange(year, month)[1]
    return f"{value!r} is not a real date — {calendar.month_name[month]} {year} has {days} days"


def _required_hint(name: str) -> str:
    hints = {
        "sources": "with at least one source (title, and url where there is one)",
        "countries": "with ISO 3166-1 alpha-2 codes, e.g. [US, CN]",
        "kind": "(talks, truce, tariff, deadline, …)",
        "timezone": "with an IANA zone, e.g. America/New_York",
    }
    return hints.get(name, "to this entry")
