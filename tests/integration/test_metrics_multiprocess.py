"""Real gunicorn, three workers, prometheus_client's multiprocess mode: `/metrics` counts every worker.

Requests go out on fresh connections from several threads, so the kernel hands them to different
workers; whichever worker answers a scrape must report the same totals, equal to what was sent.
The per-worker files are also read one worker at a time, to prove the requests did spread (otherwise
the test would pass with per-process counters too). The reload counters are state every worker has:
they are reported once (the most any worker counted), not summed over the workers.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.paths import TESTS_DATA
from tests.support.processes import free_port, stop

WORKERS = 3
FEED = "feeds.calendar_feed"
API = "api.calendar_info"
# One sample line of the text format: name, optional {labels}, value.
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


def _get(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    # A fresh connection each time (no Session), so any worker may accept it.
    return requests.get(url, headers=headers or {}, timeout=10)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    """The exposition text as {(name, sorted labels): value}; fails on a repeated sample."""
    samples: Samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        key = (match["name"], tuple(sorted(LABEL.findall(match["labels"] or ""))))
        assert key not in samples, f"sample reported twice: {line!r}"
        samples[key] = float(match["value"])
    return samples


def _requests_by(samples: Samples) -> dict[tuple[str, str], float]:
    """`trade_calendar_http_requests_total` as {(endpoint, status): count}."""
    return {
        (dict(labels)["endpoint"], dict(labels)["status"]): value
        for (name, labels), value in samples.items()
        if name == "trade_calendar_http_requests_total"
    }


def _steady(samples: Samples) -> dict[object, float]:
    """What must not change between scrapes: all but the scrapes' own count and when each worker loaded."""
    return {
        key: value
        for key, value in samples.items()
        if ("endpoint", "metrics.prometheus_metrics") not in key[1]
        and key[0] != "trade_calendar_data_loaded_timestamp_seconds"
    }


def _pids(directory: Path, pattern: str = "*.db") -> set[int]:
    """The processes that left prometheus_client files (named `<kind>_<pid>.db`) in `directory`."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob(pattern)}


def _per_worker(directory: Path) -> dict[int, dict[str, float]]:
    """Each worker's own feed answers and renders, read from only that worker's files."""
    result = {}
    for pid in _pids(directory):
        alone = directory.parent / f"worker-{pid}"
        alone.mkdir()
        for path in directory.glob(f"*_{pid}.db"):
            shutil.copy(path, alone / path.name)
        counts: dict[str, float] = Counter()
        for metric in MultiProcessCollector(None, str(alone)).collect():
            for sample in metric.samples:
                if sample.name == "trade_calendar_http_requests_total" and sample.labels["endpoint"] == FEED:
                    counts["feed"] += sample.value
                elif sample.name == "trade_calendar_feed_render_seconds_count":
                    counts["renders"] += sample.value
        result[pid] = counts
    return result


def _stale_counts(directory: Path) -> None:
    """Leave a previous run's counter file behind: the server must not add it to its own counts."""
    code = (
        "from prometheus_client import Counter\n"
        "Counter('trade_calendar_http_requests', 'x', ['endpoint', 'status'])"
        f".labels({FEED!r}, '200').inc(1000)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=30)
    assert list(directory.glob("counter_*.db"))


@dataclass
class Server:
    """A running gunicorn: its base URL, its multiprocess directory and how many /readyz 200s it took."""

    base: str
    multiproc: Path
    ready: int


@contextmanager
def _gunicorn(tmp_path: Path, data: Path, reload_interval: str) -> Iterator[Server]:
    """Three gunicorn workers on `data` in multiprocess mode; stopped (and waited for) on the way out."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    _stale_counts(multiproc)
    log = tmp_path / "gunicorn.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TRADE_CALENDAR_DATA_PATH": str(data),
        "TRADE_CALENDAR_STATE_DIR": str(tmp_path / "state"),
        "TRADE_CALENDAR_LOG_LEVEL": "CRITICAL",
        "TRADE_CALENDAR_RELOAD_INTERVAL": reload_interval,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    env.pop("TRADE_CALENDAR_DATABASE_URL", None)
    command = [
        *(sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"),
        *("--config", "python:calendar_service.web.gunicorn_conf", "--graceful-timeout", "5"),
        "calendar_service.web:create_app()",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        ready = 0
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(requests.ConnectionError):
                ready += _get(base + "/readyz").status_code == 200
            # Each worker creates its counter file when it builds the app: wait for all of them.
            if ready and len(_pids(multiproc, "counter_*.db")) == WORKERS:
                break
            assert time.monotonic() < deadline, "gunicorn did not come up in 30 s:\n" + log.read_text()
            time.sleep(0.1)
        yield Server(base, multiproc, ready)
    finally:
        stop(process, log, what="gunicorn")


def _scrapes(base: str, count: int = 6) -> list[Samples]:
    """`count` scrapes of /metrics, each on a fresh connection (so on any worker)."""
    scrapes = []
    for _ in range(count):
        response = _get(base + "/metrics")
        assert response.status_code == 200
        scrapes.append(_samples(response.text))
    return scrapes


def test_every_scrape_reports_all_workers(tmp_path: Path) -> None:
    data = tmp_path / "events.yaml"
    shutil.copy(TESTS_DATA / "small.yaml", data)
    # No second look at the file during the test: each worker renders the feed exactly once.
    with _gunicorn(tmp_path, data, reload_interval="600") as server:
        base = server.base
        feed = base + "/calendar.ics"
        etag = _get(feed).headers["ETag"]  # a render on one worker; counted as a 200 like the rest
        with ThreadPoolExecutor(max_workers=6) as pool:
            plain = list(pool.map(lambda _: _get(feed).status_code, range(40)))
            revalidated = list(pool.map(lambda _: _get(feed, {"If-None-Match": etag}).status_code, range(19)))
            api = list(pool.map(lambda _: _get(base + "/api/v1/calendar").status_code, range(10)))
        assert plain == [200] * 40
        assert revalidated == [304] * 19
        assert api == [200] * 10
        sent = {(FEED, "200"): 41.0, (FEED, "304"): 19.0, (API, "200"): 10.0}

        scrapes = _scrapes(base)
        workers = _per_worker(server.multiproc)

        serving = {pid: counts for pid, counts in workers.items() if counts["feed"]}
        assert len(serving) >= 2, f"the requests did not spread over the workers: {workers}"
        assert sum(counts["feed"] for counts in workers.values()) == 60
        # One filter, one data version: a worker renders the feed once, on its first feed request.
        assert all(counts["renders"] == 1 for counts in serving.values()), workers

        for samples in scrapes:
            counted = _requests_by(samples)
            assert {key: counted.get(key) for key in sent} == sent, counted
            assert counted[("health.readyz", "200")] == server.ready
            assert _steady(samples) == _steady(scrapes[0])
            assert samples[("trade_calendar_feed_render_seconds_count", ())] == len(serving)
            # The data state every worker shares, reported once, not once per worker.
            assert samples[("trade_calendar_reloads_total", ())] == 1
            assert samples[("trade_calendar_reload_failures_total", ())] == 0
            assert samples[("trade_calendar_reload_failing", ())] == 0
            info = [key for key in samples if key[0] == "trade_calendar_data_info"]
            assert len(info) == 1, info
            assert ("events", "3") in info[0][1]
        # The scrapes counted too: each one after the scrape that answered it.
        assert _requests_by(scrapes[-1])[("metrics.prometheus_metrics", "200")] == len(scrapes) - 1


def _replace(path: Path, text: str) -> None:
    """Swap in a new version of `path` in one step, as an editor or a deploy does (no half-written file)."""
    temporary = path.with_suffix(".new")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def test_reloads_are_counted_once_not_per_worker(tmp_path: Path) -> None:
    data = tmp_path / "events.yaml"
    shutil.copy(TESTS_DATA / "small.yaml", data)
    good = data.read_text(encoding="utf-8")
    with _gunicorn(tmp_path, data, reload_interval="0.1") as server:

        def settle() -> None:
            # Every worker sees the file change: wait out the interval, then keep all three busy.
            time.sleep(0.3)
            with ThreadPoolExecutor(max_workers=6) as pool:
                assert all(
                    code == 200
                    for code in pool.map(lambda _: _get(server.base + "/healthz").status_code, range(30))
                )

        _replace(data, good.replace("kind: talks", "kind: picnic", 1))
        settle()
        for samples in _scrapes(server.base):
            assert samples[("trade_calendar_reload_failures_total", ())] == 1
            assert samples[("trade_calendar_reload_failing", ())] == 1
            assert samples[("trade_calendar_reloads_total", ())] == 1

        _replace(data, good.replace("London day 2", "London, day 2", 1))
        settle()
        versions = set()
        for samples in _scrapes(server.base):
            assert samples[("trade_calendar_reload_failures_total", ())] == 1
            assert samples[("trade_calendar_reload_failing", ())] == 0
            assert samples[("trade_calendar_reloads_total", ())] == 2
            versions |= {dict(key[1])["version"] for key in samples if key[0] == "trade_calendar_data_info"}
        assert len(versions) == 1
