"""Hostile edits and faults under a running server: /healthz says what happened and recovers with the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import calendar_service.adapters.live as live_module
from calendar_service.core.datafile import LoadResult
from tests.support.paths import TESTS_DATA, replace_file
from tests.support.webapp import LiveServer, health_when


def failing_gauge(server: LiveServer) -> str:
    match = re.search(r"^trade_calendar_reload_failing (\S+)$", server.get("/metrics").text, flags=re.M)
    assert match, "no trade_calendar_reload_failing in /metrics"
    return match.group(1)


def test_an_alias_bomb_is_refused_with_its_place_and_the_feed_stays(
    live_server: LiveServer, data_file: Path
) -> None:
    first = live_server.get("/calendar.ics")
    good = data_file.read_bytes()
    replace_file(data_file, (TESTS_DATA / "invalid" / "alias-bomb.yaml").read_bytes())
    # Once, the request that noticed built 387 million values; now a background reload refuses it.
    health = health_when(live_server, "the bomb to be refused", lambda h: h["last_failed_reload"] is not None)
    assert health["status"] == "degraded"
    (error,) = health["last_failed_reload"]["errors"]
    assert error.startswith(f"{data_file}:11:8: error: alias *d repeats 7,381 values")
    again = live_server.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert failing_gauge(live_server) == "1.0"

    replace_file(data_file, good)
    health_when(live_server, "the good file to be seen", lambda h: h["status"] == "ok")
    assert failing_gauge(live_server) == "0.0"


def test_a_crash_while_checking_is_a_degraded_health_not_a_500(
    live_server: LiveServer, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(raw: bytes, path: str, *, today: object) -> LoadResult:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(live_module, "parse_calendar", crash)
    replace_file(data_file, data_file.read_text(encoding="utf-8") + "\n# edited\n")
    # Once, the RecursionError answered the request that noticed with a 500; now reloads run apart.
    health = health_when(
        live_server, "the crash to be reported", lambda h: h["last_failed_reload"] is not None
    )
    assert health["status"] == "degraded"
    assert "ran out of stack" in health["last_failed_reload"]["errors"][0]
    assert live_server.get("/calendar.ics").status_code == 200

    monkeypatch.undo()  # whatever failed is gone: the same file is tried again and served
    health_when(live_server, "the file to be served", lambda h: h["status"] == "ok")


def test_health_recovers_when_the_file_comes_back(live_server: LiveServer, data_file: Path) -> None:
    aside = data_file.with_name("aside.yaml")
    data_file.rename(aside)
    health_when(live_server, "the file to be missed", lambda h: h["status"] == "degraded")
    assert failing_gauge(live_server) == "1.0"
    aside.rename(data_file)
    health_when(
        live_server, "the file to be back", lambda h: h["status"] == "ok"
    )  # once: degraded until restarted
    assert failing_gauge(live_server) == "0.0"
