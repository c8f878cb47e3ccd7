"""gunicorn on a free loopback port with the compose flags, and a GET that tolerates a starting server."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.processes import free_port, stop


def get_when_up(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    """GET `url` on a fresh connection."""
    # A fresh connection each time (no Session), so any worker may accept it.
    return requests.get(url, headers=headers or {}, timeout=10)


@contextmanager
def gunicorn_server(tmp_path: Path, data: Path, reload_interval: str) -> Iterator[Server]:
    """Three gunicorn workers on `data` in multiprocess mode; stopped (and waited for) on the way out."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    clear_stale_counts(multiproc)
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
                ready += get_when_up(base + "/readyz").status_code == 200
            # Each worker creates its counter file when it builds the app: wait for all of them.
            if ready and len(worker_files(multiproc, "counter_*.db")) == WORKERS:
                break
            assert time.monotonic() < deadline, "gunicorn did not come up in 30 s:\n" + log.read_text()
            time.sleep(0.1)
        yield Server(base, multiproc, ready)
    finally:
        stop(process, log, what="gunicorn")


WORKERS = 3


def worker_files(directory: Path, pattern: str = "*.db") -> set[int]:
    """The processes that left prometheus_client files (named `<kind>_<pid>.db`) in `directory`."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob(pattern)}


def clear_stale_counts(directory: Path) -> None:
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


FEED = "feeds.calendar_feed"
