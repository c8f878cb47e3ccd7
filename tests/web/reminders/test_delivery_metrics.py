"""`serve`'s `/metrics` (web and reminders in one process) after a real delivery to a loopback receiver."""

from __future__ import annotations

import requests
from flask import Flask

from calendar_service.adapters.db import ledger
from calendar_service.worker.service import ReminderService
from tests.support.metrics import samples
from tests.support.polling import wait_until
from tests.support.receiver import Receiver, Reply
from tests.support.webapp import run_server
from tests.support.wiring import AUTH, DUE, OffsetClock

DELIVERED = ("trade_calendar_webhook_deliveries_total", (("format", "slack"), ("outcome", "delivered")))


def test_metrics_count_a_delivery_its_duration_and_lateness(
    served: tuple[Flask, ReminderService], offset_clock: OffsetClock
) -> None:
    app, service = served
    server, thread = run_server(app)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        with Receiver() as rx:
            rx.script(Reply(500))  # the first one fails and is retried, so both outcomes show
            offset_clock.put_before(DUE, 0.5)
            for path in ("/a", "/b"):
                body = {"url": rx.url + path, "lead_times": ["PT1H"], "format": "slack"}
                created = app.test_client().post("/api/v1/subscriptions", json=body, headers=AUTH)
                assert created.status_code == 201, created.get_json()
            rx.wait_for(2, timeout=15)
            wait_until(lambda: sum(ledger.count_by_state(service.engine).values()) == 2
                       and ledger.count_by_state(service.engine).get("delivered") == 1)  # fmt: skip
            found = samples(requests.get(url, timeout=5).text)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert found[DELIVERED] == 1
    retried = (("format", "slack"), ("outcome", "retry"))
    assert found[("trade_calendar_webhook_deliveries_total", retried)] == 1
    assert found[("trade_calendar_webhook_attempt_seconds_count", ())] == 2
    assert found[("trade_calendar_webhook_lateness_seconds_count", ())] == 2
    # Both first attempts went out within seconds of the due time (the bucket holds every observation).
    assert found[("trade_calendar_webhook_lateness_seconds_bucket", (("le", "10.0"),))] == 2
    assert found[("trade_calendar_reminders_retrying", ())] == 1
    assert found[("trade_calendar_reminders_pending", ())] == 0
    assert found[("trade_calendar_webhook_subscriptions_disabled", ())] == 0
