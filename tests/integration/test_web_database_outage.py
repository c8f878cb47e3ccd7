"""A database outage seen through HTTP: subscription endpoints answer 503 problem+json with Retry-After
within seconds (never a 500, never a hang), feeds and the read API keep serving the loaded calendar,
`/healthz` and `/readyz` say the database is down, and everything recovers with no restart.

SQLite's outage is another process holding the write lock (a backup, a `sqlite3` shell); PostgreSQL's
is a cluster the test owns, crashed with `pg_ctl stop -m immediate` and started again.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger, make_engine
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from tests.support.pgcluster import PgCluster, missing_reason
from tests.support.webapp import serving

TOKEN = "t0ken-for-outage-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUBSCRIPTIONS = "/api/v1/subscriptions"
HOOK = {"url": "https://93.184.215.14/hook", "lead_times": ["P1D"]}  # a public literal: no DNS
FEW_SECONDS = 8.0  # the engine gives up within 5 s (busy timeout, connect timeout)


@contextmanager
def _serving(settings: Settings, clock: SettableClock, engine: Engine | None) -> Iterator[str]:
    with serving(create_app(settings, clock=clock, engine=engine)) as url:
        yield url


def _timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _check_outage_answers(base: str) -> None:
    created, took = _timed(lambda: requests.post(base + SUBSCRIPTIONS, json=HOOK, headers=AUTH, timeout=20))
    assert created.status_code == 503, created.text
    assert took < FEW_SECONDS, f"the POST took {took:.1f} s"
    assert created.headers["Content-Type"] == "application/problem+json"
    assert int(created.headers["Retry-After"]) > 0
    assert "try again" in created.json()["detail"].lower()
    # Reads keep serving the calendar loaded before the outage.
    assert requests.get(base + "/calendar.ics", timeout=20).status_code == 200
    assert requests.get(base + "/api/v1/events", timeout=20).status_code == 200
    health = requests.get(base + "/healthz", timeout=20).json()
    assert health["status"] == "degraded", health
    assert "database" in health["down"], health
    ready = requests.get(base + "/readyz", timeout=20)
    assert ready.status_code == 200  # feeds still serve: keep the replica in the balancer
    assert "database" in ready.json()["down"]


def _check_recovered(base: str) -> None:
    created = requests.post(base + SUBSCRIPTIONS, json=HOOK, headers=AUTH, timeout=20)
    assert created.status_code == 201, created.text
    listed = requests.get(base + SUBSCRIPTIONS, headers=AUTH, timeout=20)
    assert [s["id"] for s in listed.json()["subscriptions"]] == [created.json()["id"]]
    assert requests.get(base + "/healthz", timeout=20).json()["down"] == {}


def _settings(tmp_path: Path, data_file: Path, **extra: Any) -> Settings:
    return Settings.from_env(
        {}, data_path=data_file, state_dir=tmp_path / "state", reload_interval=0.001, base_url="",
        admin_tokens=(TOKEN,), **extra,
    )  # fmt: skip


def test_sqlite_locked_by_another_writer(tmp_path: Path, data_file: Path, clock: SettableClock) -> None:
    settings = _settings(tmp_path, data_file)
    with _serving(settings, clock, None) as base:
        assert requests.get(base + "/calendar.ics", timeout=10).status_code == 200
        path = settings.effective_database_url.split("///", 1)[1]
        locker = sqlite3.connect(path, isolation_level=None, timeout=5)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            _check_outage_answers(base)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        _check_recovered(base)


@pytest.mark.postgres
@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
def test_postgres_crashed_and_restarted(tmp_path: Path, data_file: Path, clock: SettableClock) -> None:
    cluster = PgCluster()
    engine = make_engine(cluster.url)
    try:
        with _serving(_settings(tmp_path, data_file), clock, engine) as base:
            assert requests.get(base + "/calendar.ics", timeout=10).status_code == 200
            cluster.stop("immediate")
            try:
                _check_outage_answers(base)
            finally:
                cluster.start()
            _check_recovered(base)
    finally:
        engine.dispose()
        cluster.close()


def test_a_replica_without_a_scheduler_says_when_reminders_are_overdue(
    tmp_path: Path, data_file: Path, clock: SettableClock
) -> None:
    """No worker delivers (dead, never started): a web replica's /healthz sees the ledger's overdue rows."""
    settings = _settings(tmp_path, data_file)
    engine = make_engine(settings.effective_database_url)
    try:
        with _serving(settings, clock, engine) as base:
            assert requests.get(base + "/healthz", timeout=10).json()["reminders"]["status"] == "ok"
            due = clock.now() - dt.timedelta(minutes=5)
            row = {"id": "rem_overdue", "subscription_id": "sub_x", "kind": "reminder.due",
                   "event_id": "tariff-hike", "due_at": due}  # fmt: skip
            ledger.add_rows(engine, [row], now=due)
            health = requests.get(base + "/healthz", timeout=10).json()
            assert health["status"] == "degraded"
            assert health["reminders"]["status"] == "stale"
            assert health["reminders"]["oldest_due"] == due.isoformat().replace("+00:00", "Z")
            assert "reminders" in requests.get(base + "/readyz", timeout=10).json()["down"]
            # A row under a live claim is being sent, not overdue.
            ledger.claim_due(engine, now=clock.now(), lease=dt.timedelta(minutes=2), limit=10)
            assert requests.get(base + "/healthz", timeout=10).json()["down"] == {}
    finally:
        engine.dispose()
