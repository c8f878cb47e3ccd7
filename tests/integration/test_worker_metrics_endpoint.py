"""The worker's own metrics endpoint, scraped over HTTP from a real `trade-calendar worker` process after a
real delivery to a loopback receiver (the gauges and counters themselves: tests/worker/test_metrics.py)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, make_engine
from tests.support.metrics import DELIVERED, FIRST, SECOND, samples
from tests.support.polling import poll
from tests.support.processes import free_port, stop
from tests.support.receiver import Receiver
from tests.support.reminders import add_subscription, write_calendar


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    """Settings for a worker on a SQLite file, polling its data file twice a second."""
    data = write_calendar(tmp_path / "events.yaml", FIRST)
    return {
        **os.environ,
        "TRADE_CALENDAR_DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "TRADE_CALENDAR_DATA_PATH": str(data),
        "TRADE_CALENDAR_RELOAD_INTERVAL": "0.5",
        "TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS": "true",
        "PROMETHEUS_MULTIPROC_DIR": "",
    }


def test_the_worker_serves_its_delivery_metrics_after_a_real_delivery(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    engine = make_engine(worker_env["TRADE_CALENDAR_DATABASE_URL"])
    create_schema(engine)
    port = free_port()
    log = tmp_path / "worker.log"
    with Receiver() as rx, log.open("wb") as out:
        add_subscription(engine, rx.url + "/hook", SettableClock(dt.datetime.now(dt.UTC)))
        command = [sys.executable, "-c", "from calendar_service.cli import main; main()", "worker"]
        proc = subprocess.Popen(
            [*command, "--metrics-port", str(port)], env=worker_env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            # The endpoint answers, with the ledger's gauges: the PT1H reminder of the first event is planned.
            pending = ("trade_calendar_reminders_pending", ())
            planned = lambda: True if samples(get_when_up(url) or "").get(pending) == 1 else None  # noqa: E731
            poll("the planned reminder on the worker's endpoint", planned, timeout=30)
            # A new event: the worker notices the edit and announces it at once (event.created).
            write_calendar(Path(worker_env["TRADE_CALENDAR_DATA_PATH"]), FIRST, SECOND)
            (request,) = rx.wait_for(1, timeout=30)
            after = poll("the delivery to be counted", lambda: _counted(url, DELIVERED), timeout=15)
        finally:
            stop(proc, log, what="the worker")
            engine.dispose()
    assert request.headers["webhook-id"]
    assert after[("trade_calendar_webhook_attempt_seconds_count", ())] == 1
    assert after[("trade_calendar_webhook_lateness_seconds_count", ())] == 1
    # How many rows are pending right after the edit depends on how far the worker has got (the gauges'
    # values are pinned down by the ledger test above); here they must be served beside the counters.
    assert ("trade_calendar_reminders_oldest_due_age_seconds", ()) in after
    assert "metrics on http://127.0.0.1:" in log.read_text()


def get_when_up(url: str) -> str | None:
    try:
        response = requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None
    return response.text if response.status_code == 200 else None


def _counted(url: str, key: tuple[str, tuple[tuple[str, str], ...]]) -> dict | None:
    text = get_when_up(url)
    found = samples(text) if text else {}
    return found if found.get(key) == 1 else None
