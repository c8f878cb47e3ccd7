"""The app's Prometheus registry and collectors: counters per request, feed renders, the data state.

Kept apart from the `/metrics` blueprint (`metrics.py`) so that the app's parts (`extension.WebParts`)
can name the type without importing a blueprint. See `metrics.py` for what multiprocess mode does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from calendar_service.adapters.live import LiveCalendar, ReloadStats

Collectors = Sequence[Any]  # prometheus_client collectors: objects with collect()


class Metrics:
    """The app's metrics and the cheap request counter."""

    def __init__(
        self,
        live: LiveCalendar,
        multiprocess_dir: Path | None = None,
        *,
        counters: Collectors = (),
        gauges: Collectors = (),
    ) -> None:
        self.live = live
        # More of the service's metrics: `counters` this process keeps (the delivery engine's, which
        # multiprocess mode reads from the files instead) and `gauges` read at scrape time (the ledger).
        self.gauges = tuple(gauges)
        self.multiprocess_dir = str(multiprocess_dir) if multiprocess_dir is not None else None
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
        for collector in (*counters, *gauges):
            self.registry.register(collector)
        self._children: dict[tuple[str, int], Any] = {}
        if self.multiprocess_dir is not None:
            # This worker's reload counts, written whenever they change; read back as the maximum.
            self._reloads_seen = Gauge(
                _RELOADS, "Data versions swapped in", multiprocess_mode="max", registry=None
            )
            self._failures_seen = Gauge(
                _FAILURES,
                "Reloads refused (invalid or unreadable file)",
                multiprocess_mode="max",
                registry=None,
            )
            self._publish_counts(live.stats)  # the first load happened before the app built its metrics
            live.on_stats(self._publish_counts)

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

    def _publish_counts(self, stats: ReloadStats) -> None:
        self._reloads_seen.set(stats.reloads)
        self._failures_seen.set(stats.failures)

    def exposition(self) -> bytes:
        """Every metric in the text format: this process's, or every worker's in multiprocess mode."""
        if self.multiprocess_dir is None:
            return bytes(generate_latest(self.registry))
        self.live.maybe_check()  # a worker without a reload thread starts one check
        registry = CollectorRegistry()
        registry.register(_AllWorkers(self.multiprocess_dir))
        registry.register(_LiveCollector(self.live, counters=False))
        for collector in self.gauges:
            registry.register(collector)
        return bytes(generate_latest(registry))


def _has_header(path: Path) -> bool:
    """Whether a multiprocess file has at least its 8-byte header (a vanished one has nothing)."""
    try:
        return path.stat().st_size >= 8
    except FileNotFoundError:
        return False


_RELOADS = "trade_calendar_reloads"
_FAILURES = "trade_calendar_reload_failures"


class _AllWorkers:
    """Every worker's counters from the multiprocess files; the reload maxima turned back into counters."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def collect(self) -> Iterator[Any]:
        # A process creates its file first and sizes it after (prometheus/client_python#1199): a scrape
        # in that window reads 0 bytes and the library's merge fails, taking the whole scrape down with
        # a 500. Such a file holds nothing yet, so it is left out of this scrape.
        for metric in self._merged():
            if metric.name in (_RELOADS, _FAILURES):
                value = max((sample.value for sample in metric.samples), default=0.0)
                yield CounterMetricFamily(metric.name, metric.documentation, value=value)
            else:
                yield metric

    def _merged(self) -> Iterable[Any]:
        """The merged metrics of every file with a header; read again once if a file vanished meanwhile
        (a dead worker's gauges are removed: prometheus/client_python#425)."""
        for attempt in range(2):
            files = [str(path) for path in self.directory.glob("*.db") if _has_header(path)]
            try:
                return MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-any-return, no-untyped-call]
            except FileNotFoundError:
                if attempt:
                    raise
        return []


class _LiveCollector:
    """Reads the live calendar's state at scrape time."""

    def __init__(self, live: LiveCalendar, *, counters: bool = True) -> None:
        self.live = live
        self.counters = counters  # False in multiprocess mode, where `_AllWorkers` reports them

    def collect(self) -> Iterator[Any]:
        stats = self.live.stats
        if self.counters:
            yield CounterMetricFamily(_RELOADS, "Data versions swapped in", value=stats.reloads)
            yield CounterMetricFamily(
                _FAILURES, "Reloads refused (invalid or unreadable file)", value=stats.failures
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
