"""The web app and the reminder service in one process (`serve`): API changes re-plan at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calendar_service.adapters.db import ledger
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from calendar_service.web.extension import services
from calendar_service.worker.service import ReminderService
from tests.support.polling import wait_until as _wait
from tests.support.receiver import Receiver
from tests.support.wiring import AUTH, DUE, OffsetClock


def test_creating_the_app_starts_no_scheduler(wiring_settings: Settings, offset_clock: OffsetClock) -> None:
    before = {t.ident for t in threading.enumerate()}
    app = create_app(wiring_settings, clock=offset_clock)
    started = [t.name for t in threading.enumerate() if t.ident not in before]
    assert started == []
    assert services(app).reminders is None


def test_serve_keeps_the_running_service_in_the_app(served: tuple[Flask, ReminderService]) -> None:
    app, service = served
    assert services(app).reminders is service


def test_a_new_subscription_gets_a_reminder_due_now_without_waiting_for_the_next_wake(
    served: tuple[Flask, ReminderService], offset_clock: OffsetClock
) -> None:
    app, service = served
    with Receiver() as rx:
        # The service planned (nothing) at start and sleeps up to 30 s; the reminder falls due in 0.8 s.
        offset_clock.put_before(DUE, 0.8)
        started = time.monotonic()
        response = app.test_client().post(
            "/api/v1/subscriptions", json={"url": rx.url, "lead_times": ["PT1H"]}, headers=AUTH
        )
        assert response.status_code == 201, response.get_json()
        (request,) = rx.wait_for(1, timeout=15)
    # Far sooner than the routine wake-up (`max_sleep`, 30 s), however busy the machine.
    assert request.at - started < 10
    # The receiver answers before the service records the outcome: wait for the record.
    _wait(lambda: ledger.count_by_state(service.engine) == {"delivered": 1})


def _subscribe_with_two_pending(client: FlaskClient, service: ReminderService) -> dict[str, Any]:
    """POST a subscription (two lead times, unreachable URL) and wait until both reminders are planned."""
    created: dict[str, Any] = client.post(
        "/api/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook", "lead_times": ["PT1H", "PT30M"]},
        headers=AUTH,
    ).get_json()  # fmt: skip
    _wait(lambda: ledger.count_by_state(service.engine) == {"pending": 2})
    return created


def test_pausing_and_resuming_cancel_and_reopen_pending_reminders_at_once(
    served: tuple[Flask, ReminderService],
) -> None:
    app, service = served
    client = app.test_client()
    created = _subscribe_with_two_pending(client, service)
    paused = client.patch(f"/api/v1/subscriptions/{created['id']}", json={"enabled": False}, headers=AUTH)
    assert paused.status_code == 200
    _wait(lambda: ledger.count_by_state(service.engine) == {"cancelled": 2})
    resumed = client.post(f"/api/v1/subscriptions/{created['id']}/enable", headers=AUTH)
    assert resumed.status_code == 200
    _wait(lambda: ledger.count_by_state(service.engine) == {"pending": 2})


def test_deleting_a_subscription_cancels_its_pending_reminders_at_once(
    served: tuple[Flask, ReminderService],
) -> None:
    app, service = served
    client = app.test_client()
    created = _subscribe_with_two_pending(client, service)
    assert client.delete(f"/api/v1/subscriptions/{created['id']}", headers=AUTH).status_code == 204
    # Cancelled by the delete itself, not left for a wake-up days later to discover.
    assert ledger.count_by_state(service.engine) == {"cancelled": 2}


def test_starting_reminders_without_a_base_url_says_the_links_will_be_missing(
    wiring_settings: Settings, offset_clock: OffsetClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(wiring_settings, clock=offset_clock)
    service = services(app).start_reminders()
    service.shutdown()
    assert "TRADE_CALENDAR_BASE_URL is not set: webhook messages will carry no link" in caplog.text
