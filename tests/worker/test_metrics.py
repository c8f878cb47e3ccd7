"""Delivery metrics: the ledger's gauges at scrape time (both databases) and the sender's counters.

The worker process's own endpoint, scraped after a real delivery, is tests/integration/
test_worker_metrics_endpoint.py (it starts a process)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prometheus_client import generate_latest
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, ledger, make_engine
from calendar_service.adapters.db import subscriptions as subs_db
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.records import NewRow, Outcome
from calendar_service.worker.metrics import DeliveryMetrics, LedgerCollector, exposition_registry
from tests.support.metrics import samples
from tests.support.reminders import add_subscription

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
