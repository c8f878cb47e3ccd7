"""`GET /metrics` in the Prometheus text format, from one registry per app.

Per request the cost is one dict lookup and one counter increment (label children are created once and
kept); everything about the data (version, reloads, failures) is read only when Prometheus scrapes.
Under gunicorn each worker counts its own requests (set up prometheus_client's multiprocess mode to
aggregate them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

from ..live import LiveCalendar
from .openapi import operation

bp = Blueprint("metrics", __name__)


class Metrics:
    """The app's metrics and the cheap request counter."""

    def __init__(self, live: LiveCalendar) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "trade_calendar_http_requests",
            "HTTP requests answered, by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.renders = Histogram(
            "trade_calendar_feed_render_seconds",
            "Time to render one feed (count: feeds rendered)",
            buckets=(0.001, 0.005, 0.02, 0.1, 0.5, 1, 2, 5, 10),
            registry=self.registry,
        )
        self.registry.register(_LiveCollector(live))
        self._children: dict[tuple[str, int], Any] = {}

    def request_counter(self, endpoint: str, status: int) -> Any:
        """The counter child for one endpoint and status, created once."""
        key = (endpoint, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(endpoint, str(status))
        return child

    def observe_render(self, seconds: float) -> None:
        """Record one feed render."""
        self.renders.observe(seconds)


class _LiveCollector:
    """Reads the live calendar's state at scrape time."""

    def __init__(self, live: LiveCalendar) -> None:
        self.live = live

    def collect(self) -> Iterator[Any]:
        stats = self.live.stats
        yield CounterMetricFamily("trade_calendar_reloads", "Data versions swapped in", value=stats.reloads)
        yield CounterMetricFamily(
            "trade_calendar_reload_failures",
            "Reloads refused (invalid or unreadable file)",
            value=stats.failures,
        )
        snapshot = self.live.snapshot
        info = InfoMetricFamily("trade_calendar_data", "The data version being served")
        if snapshot is not None:
            info.add_metric([], {"version": snapshot.calendar.version, "events": str(len(snapshot.calendar))})
            loaded = GaugeMetricFamily(
                "trade_calendar_data_loaded_timestamp_seconds", "When the served version was loaded"
            )
            loaded.add_metric([], snapshot.loaded_at.timestamp())
            yield loaded
        yield info
        yield GaugeMetricFamily(
            "trade_calendar_reload_failing",
            "1 while the file on disk is refused",
            value=int(bool(self.live.last_failure)),
        )


def _count(response: Response) -> Response:
    metrics: Metrics = current_app.extensions["trade_calendar.metrics"]
    endpoint = request.endpoint or "unmatched"
    metrics.request_counter(endpoint, response.status_code).inc()
    return response


@bp.get("/metrics")
@operation("/metrics", tag="meta", content_type="text/plain")
def prometheus_metrics() -> Response:
    """Every metric in the Prometheus text exposition format."""
    metrics: Metrics = current_app.extensions["trade_calendar.metrics"]
    return Response(generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def init_app(app: Flask) -> None:
    """Count every request Flask answers (the feed fast path counts its own)."""
    app.after_request(_count)
