"""Every way out of the service links the event's page: the feed's URL, webhook data, Slack and Teams."""

from __future__ import annotations

import datetime as dt
import json

from flask.testing import FlaskClient

from calendar_service.core.datafile import load_calendar
from calendar_service.core.messages import Message
from calendar_service.core.reminders.messages import change_message_data
from calendar_service.core.reminders.planning import RESCHEDULED, Change
from calendar_service.render.webhook_payloads import render_payload
from tests.support.paths import TESTS_DATA


def test_feed_url_of_each_event_is_its_page(client: FlaskClient) -> None:
    feed = client.get("/calendar.ics").get_data(as_text=True)
    assert "UID:tariff-hike@trade-calendar\r\n" in feed
    block = feed[feed.index("UID:tariff-hike@") :]
    block = block[: block.index("END:VEVENT")]
    assert "URL:http://localhost/events/tariff-hike\r\n" in block
    assert client.get("/events/tariff-hike").status_code == 200


def test_webhook_messages_link_the_event_page_in_every_format() -> None:
    calendar = load_calendar(TESTS_DATA / "small.yaml", today=dt.date(2025, 6, 10)).calendar
    event = calendar.get("london")
    change = Change(
        RESCHEDULED,
        "london",
        event.start_utc(calendar.tz) - dt.timedelta(days=1),
        event.start_utc(calendar.tz),
    )
    data = change_message_data(change, event, calendar, "https://cal.example.org/")
    assert data["url"] == "https://cal.example.org/events/london"
    message = Message(
        id="msg-1", type="event.rescheduled", timestamp=dt.datetime(2025, 6, 1, tzinfo=dt.UTC), data=data
    )
    standard = json.loads(render_payload(message, "standard"))
    assert standard["data"]["url"] == "https://cal.example.org/events/london"
    assert (
        "<https://cal.example.org/events/london|Calendar entry>" in render_payload(message, "slack").decode()
    )
    teams = json.loads(render_payload(message, "teams"))
    actions = teams["attachments"][0]["content"]["actions"]
    assert {
        "type": "Action.OpenUrl",
        "title": "Calendar entry",
        "url": "https://cal.example.org/events/london",
    } in actions


def test_without_a_base_url_webhooks_carry_no_link_rather_than_a_wrong_one() -> None:
    calendar = load_calendar(TESTS_DATA / "small.yaml", today=dt.date(2025, 6, 10)).calendar
    event = calendar.get("london")
    change = Change(RESCHEDULED, "london", None, event.start_utc(calendar.tz))
    assert change_message_data(change, event, calendar)["url"] is None
