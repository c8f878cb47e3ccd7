"""Delivery counts add up across processes: a reminder worker's deliveries show in gunicorn's `/metrics`
when both write to one `PROMETHEUS_MULTIPROC_DIR` (one machine, one database)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, make_engine
from calendar_service.adapters.settings import Settings
from tests.support.gunicorn import get_when_up, gunicorn_server
from tests.support.metrics import DELIVERED, FIRST, SECOND, samples
from tests.support.polling import poll
from tests.support.processes import stop
from tests.support.receiver import Receiver
from tests.support.reminders import add_subscription, write_calendar


def test_the_workers_deliveries_are_counted_by_every_web_worker(tmp_path: Path) -> None:
    data = write_calendar(tmp_path / "events.yaml", FIRST)
    with gunicorn_server(tmp_path, data, reload_interval="0.5") as server, Receiver() as rx:
        env = {
            **os.environ,
            "TRADE_CALENDAR_DATA_PATH": str(data),
            "TRADE_CALENDAR_STATE_DIR": str(tmp_path / "state"),
            "TRADE_CALENDAR_RELOAD_INTERVAL": "0.5",
            "TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS": "true",
            "PROMETHEUS_MULTIPROC_DIR": str(server.multiproc),
        }
        env.pop("TRADE_CALENDAR_DATABASE_URL", None)
        engine = make_engine(Settings.from_env(env).effective_database_url)  # the web replicas' SQLite file
        create_schema(engine)
        add_subscription(engine, rx.url, SettableClock(dt.datetime.now(dt.UTC)))
        engine.dispose()
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-c", "from calendar_service.cli import main; main()", "worker"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            # Every web worker sees the reminder the worker planned (the ledger gauge, read at scrape).
            poll("the worker to plan", lambda: _pending(server.base), timeout=30)
            write_calendar(data, FIRST, SECOND)  # a new event: the worker announces it at once
            rx.wait_for(1, timeout=30)
            counted = poll("the web side to count the worker's delivery",
                           lambda: _delivered(server.base), timeout=15)  # fmt: skip
        finally:
            stop(worker, log, what="the worker")
    assert counted[("trade_calendar_webhook_lateness_seconds_count", ())] == 1


def _pending(base: str) -> bool | None:
    found = samples(get_when_up(base + "/metrics").text)
    return True if found.get(("trade_calendar_reminders_pending", ())) == 1 else None


def _delivered(base: str) -> dict | None:
    # Several scrapes on fresh connections, so different gunicorn workers answer: each sums the files.
    scrapes = [samples(get_when_up(base + "/metrics").text) for _ in range(3)]
    return scrapes[0] if all(s.get(DELIVERED) == 1 for s in scrapes) else None
