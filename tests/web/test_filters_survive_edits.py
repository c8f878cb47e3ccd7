"""A subscriber's feed URL and webhook filter survive any valid data edit (issue 7, item 1).

The edit that broke them: with a subscription in place, one save that moves an event and adds an
event for a new country. Served by a real server, with the reminder service listening to the live
calendar as `serve` runs it, and a real loopback receiver for the change notice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.settings import Settings
from calendar_service.core.reminders.planning import CREATED, REMINDER
from calendar_service.web import create_app
from calendar_service.web.extension import services
from calendar_service.worker.service import ReminderService
from tests.support.polling import poll
from tests.support.receiver import Receiver
from tests.support.reminders import add_subscription, event, make_service, write_calendar
from tests.support.webapp import run_server

UTC = dt.UTC
MOVED_FROM = dt.datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
MOVED_TO = dt.datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
GB_DEADLINE = dt.datetime(2027, 4, 1, 11, 0, tzinfo=UTC)


class Served:
    """The app on a real port, its reminder service, and the parts a test pokes at."""

    def __init__(self, url: str, engine: Engine, service: ReminderService, data: Path) -> None:
        self.url = url
        self.engine = engine
        self.service = service
        self.data = data

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Receiver, SettableClock]]:
    clock = SettableClock(dt.datetime(2026, 6, 1, tzinfo=UTC))
    data = write_calendar(tmp_path / "events.yaml", event("us-deadline", MOVED_FROM, countries=("US", "CN")))
    settings = Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", reload_interval=0.001, base_url="", reload_settle=0
    )
    app = create_app(settings, clock=clock)
    engine: Engine = services(app).engine
    with Receiver() as rx:
        add_subscription(engine, rx.url + "/us", clock, filter={"country": ["US"]}, sub_id="sub_us")
        add_subscription(engine, rx.url + "/gb", clock, filter={"country": ["GB"]}, sub_id="sub_gb")
        service = make_service(engine, services(app).live, clock)
        service.start(schedule=False)
        services(app).live.start_polling()  # as `serve` does
        server, thread = run_server(app)
        try:
            yield Served(f"http://127.0.0.1:{server.server_port}", engine, service, data), rx, clock
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            services(app).live.stop_polling()
            service.shutdown()


def test_a_moving_edit_that_adds_a_country_breaks_no_filter_and_no_subscriber(
    served: tuple[Served, Receiver, SettableClock],
) -> None:
    app, rx, clock = served
    # One save: the US deadline moves a day and a GB deadline appears.
    write_calendar(
        app.data,
        event("us-deadline", MOVED_TO, countries=("US", "CN")),
        event("gb-deadline", GB_DEADLINE, countries=("GB",)),
    )
    # The reload thread reads the edit; requests meanwhile are answered from the version before.
    feed = poll("the edit to be served", lambda: _if_has(app.get("/calendar.ics?country=GB"), "gb-deadline"))
    assert feed.status_code == 200, feed.text
    assert "UID:us-deadline" not in feed.text
    events = app.get("/api/v1/events?country=GB")
    assert events.status_code == 200, events.text
    assert [e["id"] for e in events.json()["items"]] == ["gb-deadline"]
    germany = app.get("/calendar.ics?country=DE")
    assert germany.status_code == 200, germany.text
    assert "BEGIN:VEVENT" not in germany.text

    # The GB subscriber hears about the new deadline and has its reminder planned (by the listener,
    # in the reload thread, right after the swap).
    rows = poll(
        "the reminder to be planned", lambda: _if_two(ledger.list_rows(app.engine, subscription_id="sub_gb"))
    )
    assert [(r["kind"], r["event_id"]) for r in rows] == [(CREATED, "gb-deadline"), (REMINDER, "gb-deadline")]
    assert rows[1]["due_at"] == GB_DEADLINE - dt.timedelta(hours=1)
    app.service.run_due(clock.now())
    notices = {r.path: json.loads(r.body) for r in rx.wait_for(2)}
    heard = {path: (notice["type"], notice["data"]["event_id"]) for path, notice in notices.items()}
    assert heard == {"/gb": ("event.created", "gb-deadline"), "/us": ("event.rescheduled", "us-deadline")}


def _if_has(response: requests.Response, event_id: str) -> requests.Response | None:
    return response if f"UID:{event_id}" in response.text else None


def _if_two(rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return rows if len(rows) >= 2 else None
