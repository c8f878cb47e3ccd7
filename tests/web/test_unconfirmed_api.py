"""Over HTTP: the API says "date passed, outcome not confirmed" as of the server's clock; the feed says it
once the data records it, with the same bytes and ETag whatever the clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
import pytest

from calendar_service.adapters.clock import SettableClock
from tests.support.webapp import LiveServer, sample_yaml

UNCERTAIN = """
  - id: suspension-ends
    title: Export-ban suspension runs out
    kind: deadline
    status: tentative
    countries: [CN, US]
    date: 2025-06-12
    sources: [{title: Ministry statement, url: "https://example.org/s"}]
  - id: hearing-held
    title: Public hearing on proposed duties
    kind: hearing
    status: tentative
    outcome: unconfirmed
    countries: [US]
    date: 2025-06-02
    verified: 2025-06-09
    sources: [{title: Notice, url: "https://example.org/h"}]
"""


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(sample_yaml().rstrip("\n") + "\n" + UNCERTAIN, encoding="utf-8")
    return path


def test_the_api_answers_as_of_its_clock(live_server: LiveServer, clock: SettableClock) -> None:
    before = live_server.get("/api/v1/events/suspension-ends").json()
    assert (before["unconfirmed"], before["outcome"], before["unconfirmed_note"]) == (False, None, None)
    clock.set(dt.datetime(2025, 6, 13, 12, 0, tzinfo=dt.UTC))  # the 12th is over in Shanghai
    after = live_server.get("/api/v1/events/suspension-ends").json()
    assert after["unconfirmed"] is True
    assert after["unconfirmed_note"].startswith("Date passed, outcome not confirmed")
    listed = live_server.get("/api/v1/events?status=tentative").json()["items"]
    flags = {item["id"]: item["unconfirmed"] for item in listed}
    assert flags["suspension-ends"] is True
    assert flags["hearing-held"] is True


def test_the_feed_marks_the_recorded_one_and_keeps_its_etag(
    live_server: LiveServer, clock: SettableClock
) -> None:
    first = live_server.get("/calendar.ics")
    shown = {
        str(v["UID"]).split("@")[0]: v for v in icalendar.Calendar.from_ical(first.content).walk("VEVENT")
    }
    assert str(shown["hearing-held"]["SUMMARY"]) == "Unconfirmed: Public hearing on proposed duties"
    assert shown["hearing-held"]["STATUS"] == "TENTATIVE"
    assert str(shown["suspension-ends"]["SUMMARY"]) == "Export-ban suspension runs out"
    clock.set(dt.datetime(2025, 6, 13, 12, 0, tzinfo=dt.UTC))
    again = live_server.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304  # the clock passing a date changes nothing in a feed
