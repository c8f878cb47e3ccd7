"""Real gunicorn, three workers, prometheus_client's multiprocess mode: `/metrics` counts every worker.

Requests go out on fresh connections from several threads, so the kernel hands them to different
workers; whichever worker answers a scrape must report the same totals, equal to what was sent.
The per-worker files are also read one worker at a time, to prove the requests did spread (otherwise
the test would pass with per-process counters too). The reload counters are state every worker has:
they are reported once (the most any worker counted), not summed over the workers.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.gunicorn import (
    FEED,
    get_when_up,
    gunicorn_server,
    worker_files,
)
from tests.support.paths import TESTS_DATA

API = "api.calendar_info"
# One sample line of the text format: name, optional {labels}, value.
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


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


def _per_worker(directory: Path) -> dict[int, dict[str, float]]:
    """Each worker's own feed answers and renders, read from only that worker's files."""
    result = {}
    for pid in worker_files(directory):
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


def _scrapes(base: str, count: int = 6) -> list[Samples]:
    """`count` scrapes of /metrics, each on a fresh connection (so on any worker)."""
    scrapes = []
    for _ in range(count):
        response = get_when_up(base + "/metrics")
        assert response.status_code == 200
        scrapes.append(_samples(response.text))
    return scrapes


def test_every_scrape_reports_all_workers(tmp_path: Path) -> None:
    data = tmp_path / "events.yaml"
    shutil.copy(TESTS_DATA / "small.yaml", data)
    # No second look at the file during the test: each worker renders the feed exactly once.
    with gunicorn_server(tmp_path, data, reload_interval="600") as server:
        base = server.base
        feed = base + "/calendar.ics"
        etag = get_when_up(feed).headers["ETag"]  # a render on one worker; counted as a 200 like the rest
        with ThreadPoolExecutor(max_workers=6) as pool:
            plain = list(pool.map(lambda _: get_when_up(feed).status_code, range(40)))
            revalidated = list(
                pool.map(lambda _: get_when_up(feed, {"If-None-Match": etag}).status_code, range(19))
            )
            api = list(pool.map(lambda _: get_when_up(base + "/api/v1/calendar").status_code, range(10)))
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
    with gunicorn_server(tmp_path, data, reload_interval="0.1") as server:

        def settle() -> None:
            # Every worker sees the file change: wait out the interval, then keep all three busy.
            time.sleep(0.3)
            with ThreadPoolExecutor(max_workers=6) as pool:
                assert all(
                    code == 200
                    for code in pool.map(
                        lambda _: get_when_up(server.base + "/healthz").status_code, range(30)
                    )
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
