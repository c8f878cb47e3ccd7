"""A new version is prepared (its indexes built) by the reload that makes it, before any reader sees it,
and the reload parses with the cyclic collector paused without leaving it paused."""

from __future__ import annotations

import gc
from pathlib import Path

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.live import LiveCalendar, Snapshot
from calendar_service.application.indexes import index_of, prepare
from calendar_service.core.filters import EventFilter
from tests.support.webapp import sample_yaml

TITLE = "EU safeguard hearing"


def _live(tmp_path: Path, clock: SettableClock) -> tuple[LiveCalendar, Path]:
    path = tmp_path / "events.yaml"
    path.write_text(sample_yaml(), encoding="utf-8")
    return LiveCalendar(path, clock=clock, reload_interval=0.001), path


def test_each_version_is_prepared_before_it_is_served(tmp_path: Path, clock: SettableClock) -> None:
    live, path = _live(tmp_path, clock)
    seen: list[tuple[Snapshot, Snapshot | None]] = []
    live.on_prepare(lambda snapshot: seen.append((snapshot, live.snapshot)))
    live.on_prepare(prepare)
    assert live.check()
    path.write_text(sample_yaml().replace(TITLE, "EU safeguard hearing moved"), encoding="utf-8")
    assert live.check()
    (first, served_then), (second, served_before) = seen
    assert served_then is None  # prepared before the first version was served
    assert served_before is first  # and the edit while the first one still was
    assert live.snapshot is second
    assert "event-index" in second.derived  # the index is there before the first request
    titles = [e.title for e in index_of(second).candidates(EventFilter())]
    assert "EU safeguard hearing moved" in titles
    assert TITLE not in titles


def test_a_failing_preparer_does_not_stop_the_version(tmp_path: Path, clock: SettableClock) -> None:
    live, _ = _live(tmp_path, clock)

    def broken(snapshot: Snapshot) -> None:
        raise RuntimeError("a bug in a preparer")

    live.on_prepare(broken)
    assert live.check()
    assert live.snapshot is not None
    assert live.last_failure is None
    assert "event-index" not in live.snapshot.derived
    # Computed on first use instead, and kept for the next request.
    assert index_of(live.snapshot) is index_of(live.snapshot)


def test_reloads_leave_the_collector_as_they_found_it(tmp_path: Path, clock: SettableClock) -> None:
    live, path = _live(tmp_path, clock)
    assert gc.isenabled()
    assert live.check()
    assert gc.isenabled()
    path.write_text(sample_yaml() + "\n  - this is not an event\n", encoding="utf-8")
    assert not live.check()
    assert live.last_failure is not None
    assert gc.isenabled()
