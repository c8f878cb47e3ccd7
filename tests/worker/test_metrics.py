"""Delivery metrics: the ledger's gauges at scrape time (both databases), the sender's counters, and the
worker's own endpoint scraped over HTTP after a real delivery to a loopback receiver."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client import generate_latest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, ledger, make_engine
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.records import NewRow, Outcome
from calendar_service.worker.metrics import DeliveryMetrics, LedgerCollector, exposition_registry
from tests.support.metrics import DELIVERED, FIRST, SECOND, samples
from tests.support.polling import poll
from tests.support.processes import free_port, stop
from tests.support.receiver import Receiver
from tests.support.reminders import add_subscription, write_calendar

T0 = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
HOUR = LeadTime.parse("PT1H")


def scrape(collector: LedgerCollector) -> dict[str, float]:
    return {m.name: m.samples[0].value for m in collector.collect()}


def test_the_ledger_gauges_count_pending_retrying_and_the_oldest_due(engine: Engine) -> None:
    clock = SettableClock(T0)
    gauges = LedgerCollector(engine, clock)
    assert scrape(gauges) == {
        "trade_calendar_ledger_readable": 1, "trade_calendar_reminders_pending": 0,
        "trade_calendar_reminders_retrying": 0, "trade_calendar_reminders_oldest_due_age_seconds": 0,
        "trade_calendar_webhook_subscriptions_disabled": 0,
    }  # fmt: skip
    sub = add_subscription(engine, "http://127.0.0.1:9/hook", clock)
    rows = [
        NewRow(f"r{i}", sub.id, "reminder.due", "ev", due_at=T0 + dt.timedelta(seconds=s), lead_time=HOUR)
        for i, s in enumerate((-90, -30, 600))
    ]
    ledger.add_rows(engine, rows, now=T0)
    # r1 was tried once and waits to be retried in 5 minutes.
    ledger.record_outcomes(engine, [Outcome(
        "r1", sub.id, "reminder.due", "ev", ledger.PENDING, 1, started_at=T0, outcome="retry",
        next_attempt_at=T0 + dt.timedelta(minutes=5),
    )])  # fmt: skip
    subs_db.disable_subscription(engine, add_subscription(engine, "http://127.0.0.1:9/b", clock).id,
                                 "410 Gone", now=T0)  # fmt: skip
    assert scrape(gauges) == {
        "trade_calendar_ledger_readable": 1, "trade_calendar_reminders_pending": 2,
        "trade_calendar_reminders_retrying": 1, "trade_calendar_reminders_oldest_due_age_seconds": 90,
        "trade_calendar_webhook_subscriptions_disabled": 1,
    }  # fmt: skip


def test_an_unreadable_ledger_is_a_gauge_not_a_failed_scrape(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables: every query fails
    try:
        assert scrape(LedgerCollector(engine, SettableClock(T0))) == {"trade_calendar_ledger_readable": 0}
    finally:
        engine.dispose()


# --- the worker's endpoint ----------------------------------------------------------------------------


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


def test_the_worker_registry_reads_every_process_in_multiprocess_mode(tmp_path: Path) -> None:
    # Without the environment variable at import, this process keeps its counts in memory; the files of
    # other processes are still read from the directory.
    (tmp_path / "mp").mkdir()
    metrics = DeliveryMetrics()
    metrics.attempted("slack", "delivered", 0.02, 0.3)
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    create_schema(engine)
    try:
        single = exposition_registry(metrics, LedgerCollector(engine, SettableClock(T0)), None)
        got = samples(generate_latest(single).decode())
        slack = (("format", "slack"), ("outcome", "delivered"))
        assert got[("trade_calendar_webhook_deliveries_total", slack)] == 1
        multi = exposition_registry(metrics, LedgerCollector(engine, SettableClock(T0)), tmp_path / "mp")
        names = {m.name for m in multi.collect()}
        assert "trade_calendar_webhook_deliveries" not in names  # nothing written to the empty directory
        assert "trade_calendar_reminders_pending" in names
    finally:
        engine.dispose()
