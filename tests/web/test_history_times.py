"""History entries carry the old time as data: the API, the change list and the feed say "was → now"."""

from __future__ import annotations

import icalendar

from tests.support.webapp import LiveServer


def test_event_history_gives_the_old_instant(live_server: LiveServer) -> None:
    event = live_server.get("/api/v1/events/tariff-hike").json()
    was = event["history"][0]["was"]
    assert (was["date"], was["time"], was["tz"]) == ("2025-07-01", "00:01", "America/New_York")
    assert was["utc"] == "2025-07-01T04:01:00Z"  # 00:01 EDT
    assert was["local"] == "2025-07-01T00:01:00-04:00"
    assert event["start"]["utc"] == "2025-07-09T04:01:00Z"


def test_change_list_gives_the_old_instant(live_server: LiveServer) -> None:
    items = live_server.get("/api/v1/changes?since=2025-06-01").json()["items"]
    (moved,) = [item for item in items if item["event_id"] == "tariff-hike"]
    assert moved["was"]["utc"] == "2025-07-01T04:01:00Z"
    assert moved["start"]["utc"] == "2025-07-09T04:01:00Z"


def test_feed_says_was_and_now(live_server: LiveServer) -> None:
    feed = icalendar.Calendar.from_ical(live_server.get("/calendar.ics").content)
    (event,) = [e for e in feed.walk("VEVENT") if str(e["UID"]).startswith("tariff-hike@")]
    assert (
        "rescheduled; was 2025-07-01 00:01 America/New_York → now 2025-07-09 00:01 America/New_York"
        in str(event["DESCRIPTION"])
    )
