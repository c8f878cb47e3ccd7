"""Delivery metrics for Prometheus: what the sender did, and the ledger's backlog when scraped.

`DeliveryMetrics` observes every attempt `Delivery` makes: a counter by outcome (delivered, retry,
failed) and format, the attempt's duration, and the lateness of a first attempt (from due to sent).
`LedgerCollector` reads the backlog from the database at scrape time: reminders pending and waiting to
be retried, the age of the oldest one due and unsent, and subscriptions disabled. The ledger is the one
truth every process shares, so these gauges are the same whichever process answers and are never
added up.

With `PROMETHEUS_MULTIPROC_DIR` set (see `web/gunicorn_conf.py`) the counters and histograms of every
process writing there (web workers under gunicorn, `serve`, the reminder worker) live in files, and a
scrape adds them all up. `exposition_registry` builds the registry a scrape reads, for `/metrics` and
for the worker's own endpoint (`trade-calendar worker --metrics-port`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from calendar_service.adapters.clock import Clock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as subs_db

log = logging.getLogger(__name__)

# Attempt durations: a healthy receiver answers in tens of milliseconds, the client gives up at its
# timeout (10 s by default).
ATTEMPT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Lateness: under a second is on time; minutes mean a backlog or an outage.
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


class DeliveryMetrics:
    """The sender's counters and histograms, in a registry of their own (`registry`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "trade_calendar_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retry, failed) and format",
            ["outcome", "format"],
            registry=self.registry,
        )
        self.attempt_seconds = Histogram(
            "trade_calendar_webhook_attempt_seconds",
            "Duration of one delivery attempt, connect to answer",
            buckets=ATTEMPT_BUCKETS,
            registry=self.registry,
        )
        self.lateness_seconds = Histogram(
            "trade_calendar_webhook_lateness_seconds",
            "From a message's due time to its first delivery attempt",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )

    def attempted(self, fmt: str, outcome: str, seconds: float, lateness: float | None) -> None:
        """Count one attempt; `lateness` (seconds past due) only for a first attempt."""
        self.deliveries.labels(outcome, fmt).inc()
        self.attempt_seconds.observe(seconds)
        if lateness is not None:
            self.lateness_seconds.observe(max(lateness, 0.0))


_LEDGER_GAUGES = (
    ("trade_calendar_ledger_readable", "1 when the ledger could be read"),
    ("trade_calendar_reminders_pending", "Messages waiting for their first attempt"),
    ("trade_calendar_reminders_retrying", "Messages waiting to be retried after a failed attempt"),
    (
        "trade_calendar_reminders_oldest_due_age_seconds",
        "How long the oldest due, undelivered message has been due (0 when none is)",
    ),
    (
        "trade_calendar_webhook_subscriptions_disabled",
        "Subscriptions disabled (paused by their owner, or after failing deliveries)",
    ),
)


class LedgerCollector:
    """Gauges read from the database at scrape time (nothing is reported while it is unreachable)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> Iterator[Any]:
        """The gauges' names without reading the database (a registry asks at registration)."""
        for name, documentation in _LEDGER_GAUGES:
            yield GaugeMetricFamily(name, documentation)

    def collect(self) -> Iterator[Any]:
        now = self.clock.now()
        try:
            pending, retrying, oldest = ledger.backlog(self.engine, now=now)
            disabled = subs_db.count_disabled(self.engine)
        except SQLAlchemyError as exc:  # /healthz reports the outage; a scrape must not fail for it
            log.debug("metrics: the ledger is unreadable: %s", exc)
            yield GaugeMetricFamily(*_LEDGER_GAUGES[0], 0)
            return
        age = 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)
        values = (1, pending, retrying, age, disabled)
        for (name, documentation), value in zip(_LEDGER_GAUGES, values, strict=True):
            yield GaugeMetricFamily(name, documentation, value)


def exposition_registry(
    delivery: DeliveryMetrics, ledger_gauges: LedgerCollector, multiprocess_dir: Path | None
) -> CollectorRegistry:
    """What a scrape of the worker reads: its delivery metrics (every process's in multiprocess mode)
    and the ledger's gauges."""
    registry = CollectorRegistry()
    if multiprocess_dir is None:
        registry.register(delivery.registry)  # a registry collects too
    else:
        registry.register(MultiProcessCollector(None, str(multiprocess_dir)))  # type: ignore[no-untyped-call]
    registry.register(ledger_gauges)
    return registry
