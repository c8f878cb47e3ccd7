"""The golden feeds in `tests/golden/`: how each is made, and the command that rewrites them.

    .venv/bin/python -m tests.regen_golden

Run it after an intended change to the feed format, read the diff, and commit the files with the change.
`tests/render/test_ical.py` renders the same cases and compares them byte for byte.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import parse_calendar
from calendar_service.core.filters import EventFilter, parse_filter
from calendar_service.core.publication import Published, reconcile
from calendar_service.render.ical import parse_alarms, render_feed

GOLDEN = Path(__file__).resolve().parent / "golden"
SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
TODAY = dt.date(2025, 6, 10)
T0 = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 6, 20, 9, 30, tzinfo=dt.UTC)
RETENTION = dt.timedelta(days=30)


def calendar_from(text: str, name: str = "test.yaml") -> Calendar:
    """A calendar from YAML text (validated like the real file)."""
    return parse_calendar(text.encode("utf-8"), name, today=TODAY).calendar


def small_text() -> str:
    """The small sample calendar as text."""
    return SMALL.read_text(encoding="utf-8")


def changed_small_text() -> str:
    """The small calendar later on: the truce starts a day later (its expiry moves), London is gone."""
    text = small_text().replace("date: 2025-05-14", "date: 2025-05-15")
    head, _, _ = text.partition("  - id: london")
    return head


def small_state() -> tuple[Calendar, dict[str, Published]]:
    """The small calendar as first published at T0."""
    calendar = calendar_from(small_text(), "small.yaml")
    return calendar, reconcile({}, calendar, T0, RETENTION)


def changed_state() -> tuple[Calendar, dict[str, Published]]:
    """The changed calendar reconciled at T1 against what was published at T0."""
    _, before = small_state()
    calendar = calendar_from(changed_small_text(), "small.yaml")
    return calendar, reconcile(before, calendar, T1, RETENTION)


def _small() -> bytes:
    calendar, states = small_state()
    return render_feed(calendar, states, EventFilter())


def _small_filtered_alarms() -> bytes:
    calendar, states = small_state()
    chosen = parse_filter({"kind": ["talks,truce"]})
    return render_feed(
        calendar,
        states,
        chosen,
        alarms=parse_alarms(["P1D", "PT2H"]),
        refresh="PT6H",
        feed_url="https://calendar.example.org/calendar.ics?kind=talks,truce&alarm=P1D&alarm=PT2H",
    )


def _small_changed() -> bytes:
    calendar, states = changed_state()
    return render_feed(calendar, states, EventFilter())


CASES: dict[str, Callable[[], bytes]] = {
    "small.ics": _small,
    "small-talks-truce-alarms.ics": _small_filtered_alarms,
    "small-changed.ics": _small_changed,
}


def main() -> None:
    """Rewrite every golden file."""
    GOLDEN.mkdir(exist_ok=True)
    for name, render in CASES.items():
        (GOLDEN / name).write_bytes(render())
        print(f"wrote {GOLDEN / name}")


if __name__ == "__main__":
    main()
