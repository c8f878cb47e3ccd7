"""Check an event file and explain every mistake as `path:line:col: severity: message`.

Three passes, each in its own module: `structure` checks the shape against the models in `model.py`
(the same ones the JSON Schema is generated from); `rules` checks what a schema cannot express
(references, time zones, countries, order of times); `warnings` flags what is stale or odd in a calendar
that is otherwise valid. Each event is checked on its own so one broken entry never hides the problems
of the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calendar_service.core import timing
from calendar_service.core.calendar import Calendar, content_version, unexpected
from calendar_service.core.errors import StoreUnreadable
from calendar_service.core.problems import Problem
from calendar_service.core.validation.actions import check_action_references, check_actions, raw_action_ids
from calendar_service.core.validation.findings import Findings
from calendar_service.core.validation.rules import (
    SPECIAL_COUNTRIES,
    check_rules,
    country_codes,
    raw_event_ids,
)
from calendar_service.core.validation.structure import check_events, check_meta, check_quoting
from calendar_service.core.validation.warnings import SOON, STALE_AFTER, check_warnings
from calendar_service.core.yamlsource import parse_yaml

__all__ = [
    "SOON",
    "SPECIAL_COUNTRIES",
    "STALE_AFTER",
    "Outcome",
    "country_codes",
    "validate_bytes",
]


@dataclass(frozen=True)
class Outcome:
    """What validation found, and the calendar when there were no errors."""

    problems: tuple[Problem, ...]
    calendar: Calendar | None

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Only the problems that block publishing."""
        return tuple(p for p in self.problems if p.is_error)


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
    try:
        return _validate_text(text, path, content_version(raw), today)
    except (MemoryError, RecursionError):
        raise  # the machine's limits, not the file's: the caller says so and may try again
    except Exception as exc:  # a bug: a refusal at the file's first line, settled like any invalid edit
        problem = Problem(path, 1, 1, "error", unexpected(exc))
        return Outcome((problem,), None)


def _validate_text(text: str, path: str, version: str, today: dt.date) -> Outcome:
    parsed = parse_yaml(text, path)
    found = Findings(path, parsed.locations, list(parsed.problems))
    if any(p.is_error for p in parsed.problems) and parsed.data is None:
        return _outcome(found, None)
    data = parsed.data
    if not isinstance(data, dict):
        found.report((), "the file must be a mapping with `calendar:` and `events:` at the top")
        return _outcome(found, None)
    for key in data:
        if key not in ("calendar", "actions", "events"):
            hint = "only `calendar:`, `actions:` and `events:`"
            found.report((key,), f"unknown top-level key {key!r} — {hint}", key=True)
    meta = check_meta(found, data)
    actions = check_actions(found, data)
    events = check_events(found, data)
    check_action_references(found, actions, events, raw_action_ids(data))
    check_quoting(found, parsed.typed)
    # With broken metadata the events are still checked (in UTC) so every mistake shows at once.
    resolved = check_rules(found, meta.timezone if meta else "UTC", events, raw_event_ids(data))
    calendar = None
    if meta is not None and not found.has_errors():
        ordered = sorted(resolved, key=lambda e: (e.start_utc(timing.zone(meta.timezone)), e.id))
        calendar = Calendar(
            meta=meta,
            events=tuple(ordered),
            version=version,
            path=path,
            actions=tuple(action for _, action in actions),
        )
        check_warnings(found, meta, events, calendar, today)
    return _outcome(found, calendar)


def _outcome(found: Findings, calendar: Calendar | None) -> Outcome:
    return Outcome(tuple(sorted(set(found.problems), key=lambda p: (p.line, p.column, p.message))), calendar)
