"""Edits that crashed the validator are ordinary refusals: `file:line`, settled once, never a traceback.

On main, year 9999, `duration: P99999999D` or a huge `after.offset` raised OverflowError inside
validation: the reload was refused with "please report this" and no line, and — unlike an invalid edit —
validated again at every poll with a 29-line traceback in the log until the file was fixed.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.live import LiveCalendar


@pytest.fixture
def live(data_file: Path, engine: Engine, clock: SettableClock) -> LiveCalendar:
    """The sample calendar loaded once, checked again whenever a test asks."""
    live = LiveCalendar(data_file, clock=clock, engine=engine, reload_interval=0.001)
    assert live.check()
    return live


EDITS = {
    "year-9999": ("date: 2025-06-10\n", "date: 9999-12-31\n"),
    "duration": ("duration: P90D", "duration: P99999999D"),
    "offset": ("offset: P90D", "offset: P99999999D"),
    "never-matching-rule": (
        "date: 2025-06-20\n",
        'date: 2025-06-20\n    repeat: {rrule: "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3"}\n',
    ),
}


@pytest.mark.parametrize("change", EDITS.values(), ids=EDITS.keys())
def test_an_edit_that_crashed_validation_is_refused_at_its_line_once(
    live: LiveCalendar,
    data_file: Path,
    engine: Engine,
    clock: SettableClock,
    change: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    served = live.snapshot.calendar.version if live.snapshot else None
    old, new = change
    data_file.write_text(data_file.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    caplog.set_level(logging.INFO)
    assert live.check() is False
    assert live.last_failure is not None
    text = "\n".join(live.last_failure.messages)
    assert f"{data_file}:" in text
    line = text.split(f"{data_file}:", 1)[1].split(":", 1)[0]
    assert int(line) > 1, text  # the entry's own line, not the file's first
    assert "please report" not in text, text
    failed = live.last_failure
    for _ in range(3):  # polls of the same bytes: settled, not validated again
        clock.advance(dt.timedelta(seconds=5))
        assert live.check() is False
        assert live.last_failure is failed
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text  # the refusal, logged once
    assert errors[0].exc_info is None, caplog.text  # and no traceback
    assert live.snapshot is not None
    assert live.snapshot.calendar.version == served
