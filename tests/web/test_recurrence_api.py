"""The API gives each date of a repeating deadline as its own event, with the series it belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.webapp import LiveServer, sample_yaml

REPEATING = """
  - id: monthly-report
    title: Monthly licence report due
    kind: deadline
    countries: [US]
    date: 2025-06-30
    repeat:
      rrule: FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3
    sources: [{title: Notice, url: "https://example.com/r"}]
"""


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(sample_yaml().rstrip("\n") + "\n" + REPEATING, encoding="utf-8")
    return path


def test_upcoming_deadlines_list_each_occurrence(live_server: LiveServer) -> None:
    page = live_server.get("/api/v1/deadlines/upcoming?within=P120D").json()
    reports = [item for item in page["items"] if item["event"]["series"] == "monthly-report"]
    assert [item["event"]["id"] for item in reports] == [
        "monthly-report-2025-06-30",
        "monthly-report-2025-07-31",
        "monthly-report-2025-08-31",
    ]
    assert reports[0]["deadline"] == {
        "date": "2025-06-30",
        "moment": "end",
        "local": "2025-07-01T00:00:00-04:00",
        "zone": "America/New_York",
        "utc": "2025-07-01T04:00:00Z",
        "all_day": True,
    }
    assert reports[0]["event"]["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"
    one = live_server.get("/api/v1/events/monthly-report-2025-07-31").json()
    assert one["start"]["date"] == "2025-07-31"
