"""LiveCalendar under faults: every failed reload is reported, retried, and cleared when the fault is gone."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

import calendar_service.adapters.live as live_module
from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, make_engine
from calendar_service.adapters.db.publications import current_revision
from calendar_service.adapters.live import LiveCalendar
from calendar_service.core.datafile import LoadResult
from tests.support.livecal import failure_text, title_of
from tests.support.polling import wait_until
from tests.support.webapp import sample_yaml


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(sample_yaml(), encoding="utf-8")
    return path


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def live(data_file: Path, engine: Engine, clock: SettableClock) -> LiveCalendar:
    live = LiveCalendar(data_file, clock=clock, engine=engine, reload_interval=0.001)
    assert live.check()
    assert live.last_failure is None
    return live


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_edit_made_while_the_database_is_unreachable_is_published_once_it_is_back(
    live: LiveCalendar, data_file: Path, engine: Engine
) -> None:
    edit(data_file, "title: London day 2", "title: London, day two")
    live.engine = create_engine("sqlite:////nonexistent-directory/state.sqlite3")  # every connect fails
    assert live.check() is False  # before: the OperationalError escaped and the edit was marked seen
    assert "is valid but publishing it failed (OperationalError" in failure_text(live)
    assert title_of(live, "london") == "London day 2"  # the last published version is still served

    live.engine = engine  # the database is back; nobody touches the file again
    assert live.check() is True
    assert title_of(live, "london") == "London, day two"
    assert live.last_failure is None


def _move_away(path: Path) -> Callable[[], object]:
    aside = path.with_name("aside.yaml")
    path.rename(aside)
    return lambda: aside.rename(path)


def _delete(path: Path) -> Callable[[], object]:
    raw = path.read_bytes()
    path.unlink()
    return lambda: path.write_bytes(raw)  # the same bytes, a new inode and mtime


def _directory(path: Path) -> Callable[[], object]:
    restore = _move_away(path)
    path.mkdir()

    def back() -> None:
        path.rmdir()
        restore()

    return back


def _symlink_loop(path: Path) -> Callable[[], object]:
    restore = _move_away(path)
    path.symlink_to(path.name)  # a link to itself: ELOOP

    def back() -> None:
        path.unlink()
        restore()

    return back


def _fifo(path: Path) -> Callable[[], object]:
    restore = _move_away(path)
    os.mkfifo(path)  # reading it would wait for a writer for ever

    def back() -> None:
        path.unlink()
        restore()

    return back


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (_move_away, "No such file or directory"),
        (_delete, "No such file or directory"),
        (_directory, "Is a directory"),
        (_symlink_loop, "Too many levels of symbolic links"),
        (_fifo, "not a regular file"),
    ],
)
def test_health_recovers_after_a_transient_read_failure(
    live: LiveCalendar, data_file: Path, fault: Callable[[Path], Callable[[], object]], said: str
) -> None:
    version = live.snapshot.calendar.version if live.snapshot else None
    restore = fault(data_file)
    assert live.check() is False
    assert said in failure_text(live)
    failures = live.stats.failures

    restore()
    live.check()
    assert live.last_failure is None  # before: "degraded" for good, the fingerprint looked unchanged
    assert live.snapshot is not None
    assert live.snapshot.calendar.version == version
    live.check()
    assert live.stats.failures == failures  # and it stays healthy


def test_an_invalid_edit_stays_refused_without_being_validated_again(
    live: LiveCalendar, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(data_file, "kind: hearing", "kind: party")
    live.check()
    assert "party" in failure_text(live)
    calls = count_validations(monkeypatch)
    live.check()
    live.check()
    assert calls == []  # the same bytes fail the same way: settled, not re-read
    assert "party" in failure_text(live)


def count_validations(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = live_module.parse_calendar  # type: ignore[attr-defined]

    def counting(raw: bytes, path: str, *, today: object) -> LoadResult:
        calls.append(raw)
        return real(raw, path, today=today)  # type: ignore[arg-type]

    monkeypatch.setattr(live_module, "parse_calendar", counting)
    return calls


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (MemoryError(), "ran out of memory"),
        (RecursionError("maximum recursion depth exceeded"), "ran out of stack"),
        (KeyError("surprise"), "failed unexpectedly (KeyError: 'surprise')"),
    ],
)
def test_an_error_that_is_not_a_finding_is_a_refused_reload_and_retried(
    live: LiveCalendar,
    data_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    said: str,
) -> None:
    real = live_module.parse_calendar  # type: ignore[attr-defined]
    failing = [error]

    def once(raw: bytes, path: str, *, today: object) -> LoadResult:
        if failing:
            raise failing.pop()
        return real(raw, path, today=today)  # type: ignore[arg-type]

    monkeypatch.setattr(live_module, "parse_calendar", once)
    edit(data_file, "title: London day 2", "title: London, day two")
    assert live.check() is False  # once: the error escaped into the request (a bare 500 under gunicorn)
    assert said in failure_text(live)
    assert title_of(live, "london") == "London day 2"
    assert live.check() is True  # tried again without another edit
    assert title_of(live, "london") == "London, day two"
    assert live.last_failure is None


def test_a_file_over_the_size_limit_is_refused_and_says_so(
    data_file: Path, engine: Engine, clock: SettableClock
) -> None:
    size = data_file.stat().st_size
    live = LiveCalendar(data_file, clock=clock, engine=engine, max_data_bytes=size - 1)
    assert live.check() is False
    assert f"more than the limit of {size - 1:,}" in failure_text(live)
    assert "TRADE_CALENDAR_MAX_DATA_BYTES" in failure_text(live)
    assert live.snapshot is None


def slow_validation(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make validating a file titled "London, slow" wait for `release`; `started` is set when it does."""
    real = live_module.parse_calendar  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()

    def slow_for_the_first_edit(raw: bytes, path: str, *, today: object) -> LoadResult:
        if b"London, slow" in raw:
            started.set()
            release.wait(timeout=30)  # stands for a validation that takes minutes
        return real(raw, path, today=today)  # type: ignore[arg-type]

    monkeypatch.setattr(live_module, "parse_calendar", slow_for_the_first_edit)
    return started, release


def test_a_long_validation_does_not_hold_back_a_newer_edit(
    live: LiveCalendar, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_started, release = slow_validation(monkeypatch)
    edit(data_file, "title: London day 2", "title: London, slow")
    first = threading.Thread(target=live.check)
    first.start()
    try:
        assert slow_started.wait(timeout=10)
        edit(data_file, "title: London, slow", "title: London, corrected")
        newer = threading.Thread(target=live.check)
        newer.start()
        newer.join(timeout=10)
        assert not newer.is_alive(), "the newer edit waited for the older validation"  # before: blocked
        assert title_of(live, "london") == "London, corrected"
    finally:
        release.set()
        first.join(timeout=10)
    assert title_of(live, "london") == "London, corrected"  # the older version, validated late, is dropped
    assert live.last_failure is None


def test_polling_keeps_looking_while_a_validation_runs(
    live: LiveCalendar, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_started, release = slow_validation(monkeypatch)
    swapped = threading.Event()
    live.on_change(lambda old, new: swapped.set() if "corrected" in new.get("london").title else None)
    edit(data_file, "title: London day 2", "title: London, slow")
    live.reload_interval = 0.01
    live.start_polling()
    try:
        assert slow_started.wait(timeout=10)
        edit(data_file, "title: London, slow", "title: London, corrected")
        assert swapped.wait(timeout=10)
    finally:
        release.set()
        live.stop_polling()
    assert title_of(live, "london") == "London, corrected"


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root's reads, and the interpreter here lives under "
    "/root (mode 700), so a non-root subprocess cannot run it; the other transient read failures cover "
    "the same path (a failure that is not final is reported, then cleared when the file reads again)",
)
def test_health_recovers_after_the_file_was_unreadable_for_a_while(
    live: LiveCalendar, data_file: Path
) -> None:
    edit(data_file, "title: London day 2", "title: London, day two")
    data_file.chmod(0)
    try:
        assert live.check() is False
        assert "Permission denied" in failure_text(live)
    finally:
        data_file.chmod(0o644)
    assert live.check() is True
    assert live.last_failure is None
    assert title_of(live, "london") == "London, day two"


def test_a_process_reading_a_newer_file_does_not_publish_its_older_one_meanwhile(
    data_file: Path, engine: Engine, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two processes on one file and one database; A's reload of the edit takes long (it is held).
    a = LiveCalendar(data_file, clock=clock, engine=engine, reload_interval=0.005)
    b = LiveCalendar(data_file, clock=clock, engine=engine, reload_interval=0.005)
    assert a.check()
    assert b.check()
    real = live_module.parse_calendar  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()

    def held_in_the_background(raw: bytes, path: str, *, today: object) -> LoadResult:
        if threading.current_thread().name.startswith("trade-calendar") and b"London, day two" in raw:
            started.set()
            release.wait(timeout=30)
        return real(raw, path, today=today)  # type: ignore[arg-type]

    monkeypatch.setattr(live_module, "parse_calendar", held_in_the_background)
    looks = [0]
    stored_revision = a._stored_revision

    def counted() -> int | None:
        looks[0] += 1
        return stored_revision()

    monkeypatch.setattr(a, "_stored_revision", counted)
    edit(data_file, "title: London day 2", "title: London, day two")
    a.start_polling()
    try:
        assert started.wait(timeout=10)
        assert b.check() is True  # B publishes the edit while A is still reading it
        published = current_revision(engine)
        seen = looks[0]
        wait_until(lambda: looks[0] >= seen + 3, what="A to look at the revision three times")
        # Once, A published its older calendar again at each look, moving london back and forth.
        assert current_revision(engine) == published
        assert title_of(a, "london") == "London day 2"  # still served while A's reload runs
    finally:
        release.set()
    wait_until(lambda: title_of(a, "london") == "London, day two", what="A to serve the edit")
    a.stop_polling()
    assert a.snapshot is not None
    assert b.snapshot is not None
    assert a.snapshot.published["london"] == b.snapshot.published["london"]
