"""LiveCalendar's guard: a version that takes away too much is held, then published or dropped; a file
being written is read only once left alone. Sequences, not single steps: hold then revert, hold then a
different edit, hold then the window, hold then a confirmation."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import confirmations
from calendar_service.adapters.live import LiveCalendar
from calendar_service.core.calendar import Calendar
from calendar_service.core.guard import shrinkage
from tests.support.reminders import calendar_yaml, event, make_calendar

DEADLINE = dt.datetime(2027, 3, 1, 15, 0, tzinfo=dt.UTC)
WINDOW = 600.0


def _text(ids: range, *, cancelled: range = range(0)) -> str:
    return calendar_yaml(
        event(f"e{i}", DEADLINE + dt.timedelta(days=i), status="cancelled" if i in cancelled else "scheduled")
        for i in ids
    )


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """Where the publication state and confirmations live (the guard's behaviour is the same on both)."""
    return sqlite_engine


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(_text(range(20)), encoding="utf-8")
    return path


@pytest.fixture
def live(data: Path, engine: Engine, clock: SettableClock) -> LiveCalendar:
    live = LiveCalendar(
        data, clock=clock, engine=engine, reload_interval=0.001, hold_share=0.2, hold_window=WINDOW,
        confirmations=engine,
    )  # fmt: skip
    assert live.check()
    return live


def _ids(live: LiveCalendar) -> list[str]:
    assert live.snapshot is not None
    return [e.id for e in live.snapshot.calendar]


def _calendar(ids: range, *, cancelled: range = range(0)) -> Calendar:
    return make_calendar(
        *(event(f"e{i}", DEADLINE, status="cancelled" if i in cancelled else "scheduled") for i in ids)
    )


def test_shrinkage_counts_the_live_events_removed_or_cancelled() -> None:
    before = _calendar(range(10), cancelled=range(9, 10))  # e9 was cancelled already: not counted
    found = shrinkage(before, _calendar(range(1, 10), cancelled=range(1, 2)))
    assert (found.live_before, found.taken) == (9, ("e0", "e1"))
    assert not found.exceeds(0.2)  # two is below the floor, whatever the share
    assert shrinkage(before, _calendar(range(3, 10))).exceeds(0.2)
    assert not shrinkage(before, _calendar(range(1, 10))).exceeds(0.2)


def test_a_mass_removal_is_held_unannounced_then_dropped_when_the_file_goes_back(
    live: LiveCalendar, data: Path
) -> None:
    heard: list[int] = []
    live.on_change(lambda old, new: heard.append(len(new)))
    served = data.read_text(encoding="utf-8")
    data.write_text(_text(range(10)), encoding="utf-8")
    assert not live.check()
    assert live.hold is not None
    assert (len(live.hold.shrinkage.taken), live.hold.shrinkage.live_before) == (10, 20)
    assert len(_ids(live)) == 20
    assert heard == []
    data.write_text(served, encoding="utf-8")  # the curator restores the file
    assert not live.check()
    assert live.hold is None
    assert heard == []


def test_a_held_version_is_published_once_unchanged_for_the_window(
    live: LiveCalendar, data: Path, clock: SettableClock
) -> None:
    heard: list[int] = []
    live.on_change(lambda old, new: heard.append(len(new)))
    data.write_text(_text(range(10), cancelled=range(5)), encoding="utf-8")  # 5 removed, 5 cancelled
    assert not live.check()
    assert live.hold is not None
    clock.advance(dt.timedelta(seconds=WINDOW - 1))
    assert not live.check()
    clock.advance(dt.timedelta(seconds=1))
    assert live.check()
    assert (len(_ids(live)), live.hold, heard) == (10, None, [10])


def test_a_different_edit_replaces_the_held_one_and_restarts_its_window(
    live: LiveCalendar, data: Path, clock: SettableClock
) -> None:
    data.write_text(_text(range(10)), encoding="utf-8")
    assert not live.check()
    first = live.hold
    clock.advance(dt.timedelta(seconds=WINDOW / 2))
    data.write_text(_text(range(12)), encoding="utf-8")
    assert not live.check()
    assert live.hold is not None
    assert first is not None
    assert live.hold.digest != first.digest
    clock.advance(dt.timedelta(seconds=WINDOW / 2))
    assert not live.check()  # the window is the new version's, not the first one's
    assert len(_ids(live)) == 20


def test_a_confirmed_version_goes_out_at_the_next_check_and_a_small_removal_never_waits(
    live: LiveCalendar, data: Path, engine: Engine, clock: SettableClock
) -> None:
    data.write_text(_text(range(18)), encoding="utf-8")  # two of twenty: published at once
    assert live.check()
    data.write_text(_text(range(4)), encoding="utf-8")
    assert not live.check()
    assert live.hold is not None
    confirmations.confirm(engine, live.hold.digest, now=clock.now(), by="curator")
    assert live.check()
    assert (len(_ids(live)), live.hold) == (4, None)


def test_a_file_still_being_written_is_read_once_left_alone_for_the_settle_window(
    data: Path, clock: SettableClock
) -> None:
    live = LiveCalendar(data, clock=clock, reload_interval=0.001, settle=0.4)
    old = time.time() - 60
    os.utime(data, (old, old))
    assert live.check()  # written long ago: read at once
    text = _text(range(21)).encode()
    cut = len(_text(range(1)).encode())
    finished = threading.Event()

    def writer() -> None:  # in place, pausing less than the window between the two parts
        with data.open("r+b") as handle:
            handle.truncate(0)
            handle.write(text[:cut])
            handle.flush()
            time.sleep(0.2)
            handle.write(text[cut:])
        finished.set()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.05)  # the first part is on disk
    started = time.monotonic()
    assert live.check()  # waits for the file to be left alone, then reads the whole of it
    thread.join()
    assert finished.is_set()
    assert len(_ids(live)) == 21
    assert time.monotonic() - started >= 0.4 - 0.05
