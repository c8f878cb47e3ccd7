"""Gauges of the source watch, read from the database at scrape time (the same in every process).

trade_calendar_sources{state}                 source URLs known, changed since first read, failing, dead
trade_calendar_sources_checked                URLs the last source check read
trade_calendar_source_proposals_open          proposals waiting for a curator
trade_calendar_watch_last_success_seconds{watch}  when each watch last succeeded (Unix time; 0: never)
trade_calendar_watches_stale                  watches without a success for a day (named in /healthz)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from calendar_service.adapters.clock import Clock
from calendar_service.adapters.db import sources as db

log = logging.getLogger(__name__)
DEAD_AFTER = dt.timedelta(days=3)


class SourceCollector:
    """Source-watch gauges; nothing is reported while the database is unreachable."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> Iterator[Any]:
        """The gauges' names without reading the database (a registry asks at registration)."""
        yield GaugeMetricFamily("trade_calendar_sources", "Source URLs by state", labels=["state"])
        yield GaugeMetricFamily("trade_calendar_source_proposals_open", "Proposals waiting for a curator")
        yield GaugeMetricFamily("trade_calendar_sources_checked", "URLs the last source check read")
        yield GaugeMetricFamily(
            "trade_calendar_watch_last_success_seconds", "When each watch last succeeded", labels=["watch"]
        )
        yield GaugeMetricFamily("trade_calendar_watches_stale", "Watches without a success for a day")

    def collect(self) -> Iterator[Any]:
        now = self.clock.now()
        try:
            counts = db.counts(self.engine, now, DEAD_AFTER)
            runs = db.watch_runs_list(self.engine)
        except SQLAlchemyError as exc:  # /healthz reports the outage; a scrape must not fail for it
            log.debug("source gauges skipped: %s", exc)
            return
        sources = GaugeMetricFamily("trade_calendar_sources", "Source URLs by state", labels=["state"])
        for state, key in (
            ("known", "sources"),
            ("changed", "changed"),
            ("failing", "failing"),
            ("dead", "dead"),
        ):
            sources.add_metric([state], counts[key])
        yield sources
        yield GaugeMetricFamily(
            "trade_calendar_source_proposals_open",
            "Proposals waiting for a curator",
            value=counts["proposals_open"],
        )
        checked = next((run.items for run in runs if run.watch_id == "sources"), 0)
        yield GaugeMetricFamily(
            "trade_calendar_sources_checked", "URLs the last source check read", value=checked
        )
        last = GaugeMetricFamily(
            "trade_calendar_watch_last_success_seconds", "When each watch last succeeded", labels=["watch"]
        )
        for run in runs:
            last.add_metric([run.watch_id], run.last_success.timestamp() if run.last_success else 0.0)
        yield last
        stale = sum(1 for run in runs if run.stale(now))
        yield GaugeMetricFamily(
            "trade_calendar_watches_stale", "Watches without a success for a day", value=stale
        )
