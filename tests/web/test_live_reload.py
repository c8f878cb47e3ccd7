"""Editing the data file under a running server: new times appear, SEQUENCE rises, bad edits are refused."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

import pytest
import requests

import calendar_service.adapters.live as live_module
from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.core.datafile import LoadResult
from calendar_service.web import create_app
from calendar_service.web.extension import services
from tests.support.ics import edit, prop, vevent
from tests.support.paths import replace_file
from tests.support.webapp import LiveServer, health_when, new_version_served, run_server


def test_moved_time_appears_and_sequence_rises(
    live_server: LiveServer, data_file: Path, clock: SettableClock
) -> None:
    first = live_server.get("/calendar.ics")
    before = vevent(first.text, "london")
    assert "T104000" in prop(before, "DTSTART")
    sequence = int(prop(before, "SEQUENCE"))

    clock.advance(dt.timedelta(hours=1))
    version = _version(live_server)
    edit(data_file, "time: 10:40", "time: 11:40")
    new_version_served(live_server, version)
    second = live_server.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    after = vevent(second.text, "london")
    assert "T114000" in prop(after, "DTSTART")
    assert int(prop(after, "SEQUENCE")) == sequence + 1
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.headers["Last-Modified"] != first.headers["Last-Modified"]
    changes = live_server.get("/api/v1/changes?since=2025-06-10T12:30:00Z").json()["items"]
    assert [(c["event_id"], c["origin"], c["sequence"]) for c in changes] == [
        ("london", "observed", sequence + 1)
    ]


def test_removed_event_is_cancelled_and_last_modified_moves(
    live_server: LiveServer, data_file: Path, clock: SettableClock
) -> None:
    first = live_server.get("/calendar.ics")
    clock.advance(dt.timedelta(hours=1))
    text = data_file.read_text(encoding="utf-8")
    before = _version(live_server)
    replace_file(data_file, text[: text.index("  - id: eu-hearing")])
    new_version_served(live_server, before)
    second = live_server.get("/calendar.ics", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert second.status_code == 200
    gone = vevent(second.text, "eu-hearing")
    assert prop(gone, "STATUS") == "CANCELLED"
    assert second.headers["Last-Modified"] != first.headers["Last-Modified"]
    removed = live_server.get("/api/v1/changes?since=2025-06-10T12:30:00Z").json()["items"]
    assert [(c["event_id"], c["change"]) for c in removed] == [("eu-hearing", "removed")]


def test_invalid_edit_changes_nothing_served_and_healthz_reports_file_line(
    live_server: LiveServer, data_file: Path, clock: SettableClock
) -> None:
    first = live_server.get("/calendar.ics")
    clock.advance(dt.timedelta(hours=1))
    edit(data_file, "kind: hearing", "kind: party")
    health = health_when(live_server, "the edit to be refused", lambda h: h["last_failed_reload"] is not None)
    again = live_server.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert health["status"] == "degraded"
    errors = health["last_failed_reload"]["errors"]
    assert errors
    assert all(e.startswith(f"{data_file}:") for e in errors)
    assert re.match(rf"{re.escape(str(data_file))}:\d+:\d+: error: .*party", errors[0])
    assert "trade_calendar_reload_failures_total 1.0" in live_server.get("/metrics").text

    edit(data_file, "kind: party", "kind: hearing")  # fixed: healthy again, same version served
    health_when(live_server, "the fix to be seen", lambda h: h["status"] == "ok")
    assert live_server.get("/calendar.ics").headers["ETag"] == first.headers["ETag"]


def test_restart_on_the_same_database_keeps_sequence(
    live_server: LiveServer, data_file: Path, clock: SettableClock, settings: Settings
) -> None:
    clock.advance(dt.timedelta(hours=1))
    before = _version(live_server)
    edit(data_file, "time: 10:40", "time: 12:40")
    new_version_served(live_server, before)
    moved = vevent(live_server.get("/calendar.ics").text, "london")
    live_server.server.shutdown()

    restarted = create_app(settings, clock=clock)
    server, thread = run_server(restarted)
    try:
        body = (
            LiveServer(f"http://127.0.0.1:{server.server_port}", restarted, server).get("/calendar.ics").text
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    again = vevent(body, "london")
    assert prop(again, "SEQUENCE") == prop(moved, "SEQUENCE") == "1"
    assert prop(again, "LAST-MODIFIED") == prop(moved, "LAST-MODIFIED")


def test_listeners_hear_each_swap(live_server: LiveServer, data_file: Path) -> None:
    live = services(live_server.app).live
    heard: list[tuple[str | None, str]] = []
    live.on_change(lambda old, new: heard.append((old.version if old else None, new.version)))
    version = live.snapshot.calendar.version
    edit(data_file, "title: London day 2", "title: London, day two")
    new_version_served(live_server, version)
    assert heard == [(version, live.snapshot.calendar.version)]


def _version(server: LiveServer) -> str:
    return str(server.get("/healthz").json()["data_version"])


def test_a_request_is_answered_from_the_old_version_while_a_reload_is_held(
    live_server: LiveServer, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = live_module.parse_calendar  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()

    def held(raw: bytes, path: str, *, today: dt.date) -> LoadResult:
        if b"London, slow" in raw:
            started.set()
            release.wait(timeout=30)  # stands for a reload of 100,000 events
        return real(raw, path, today=today)

    monkeypatch.setattr(live_module, "parse_calendar", held)
    version = _version(live_server)
    edit(data_file, "title: London day 2", "title: London, slow")
    try:
        # The request that notices the edit starts the reload and is answered at once; once, it
        # waited for the whole reload (this GET timed out).
        first = requests.get(live_server.url + "/calendar.ics", timeout=5)
        assert started.wait(timeout=10), "no reload started"
        during = requests.get(live_server.url + "/calendar.ics", timeout=5)
        health = requests.get(live_server.url + "/healthz", timeout=5).json()
    finally:
        release.set()
    for answer in (first, during):
        assert answer.status_code == 200
        assert "SUMMARY:London day 2" in answer.text
    assert health["data_version"] == version
    new_version_served(live_server, version)
    assert "SUMMARY:London\\, slow" in live_server.get("/calendar.ics").text
