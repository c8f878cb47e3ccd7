"""Read an event file into a `Calendar`: the bytes, then `validation/`, then the resolved types of `store`.

Kept out of `store` so that the validator can build on `store`'s types without an import circle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from calendar_service.core.calendar import Calendar
from calendar_service.core.errors import StoreInvalid, StoreUnreadable
from calendar_service.core.problems import Problem
from calendar_service.core.validation import validate_bytes


@dataclass(frozen=True)
class LoadResult:
    """A calendar and the warnings found while loading it."""

    calendar: Calendar
    warnings: tuple[Problem, ...]


def read_text(path: str | Path) -> bytes:
    """Read the file's bytes; StoreUnreadable when that is impossible."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise StoreUnreadable(str(path), exc.strerror or str(exc)) from exc


def load_calendar(path: str | Path, *, today: dt.date) -> LoadResult:
    """Read, validate and resolve the event file at `path`; StoreInvalid lists every error."""
    raw = read_text(path)
    return parse_calendar(raw, str(path), today=today)


def parse_calendar(raw: bytes, path: str, *, today: dt.date) -> LoadResult:
    """Validate and resolve the bytes of an event file."""
    outcome = validate_bytes(raw, path, today=today)
    errors = [p for p in outcome.problems if p.is_error]
    if errors or outcome.calendar is None:
        raise StoreInvalid(path, outcome.problems)
    return LoadResult(outcome.calendar, tuple(outcome.problems))
