"""Real gunicorn, three workers on one SQLite file: every worker serves the same bytes and ETag.

A calendar client's conditional request lands on any worker; if the workers disagree about the
publication state (LAST-MODIFIED, DTSTAMP, SEQUENCE), its ETag never matches and every poll is a
full 200. The workers boot while another connection holds SQLite's write lock (as the reminder
worker may), and one of them boots a second later: that makes "both loaded the empty state before
either saved, at different `now`s" happen every run instead of now and then.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from calendar_service.adapters.db import create_schema, make_engine
from tests.support.ics import edit, prop, vevent
from tests.support.processes import free_port, stop
from tests.support.webapp import sample_yaml

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")

WORKERS = 3
CONFIG = f"""
import time

def post_fork(server, worker):
    # The last worker boots a second later, so its clock reads a different second.
    if worker.age == {WORKERS}:
        time.sleep(1.1)
"""


def _workers_with_open(master: int, path: Path) -> int:
    """How many of `master`'s child processes have `path` open (Linux /proc)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != master:
                continue
            fds = list((stat.parent / "fd").iterdir())
            count += any(os.readlink(fd) == str(path) for fd in fds)
        except (OSError, IndexError, ValueError):
            continue  # the process has gone, or is not ours to read
    return count


def get_when_up(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    # requests.get opens a fresh connection each time, so the kernel hands it to any worker.
    return requests.get(url, headers=headers or {}, timeout=10)


def _etags(url: str, count: int = 30) -> set[str]:
    etags = set()
    for _ in range(count):
        response = get_when_up(url)
        assert response.status_code == 200
        etags.add(response.headers["ETag"])
    return etags


def test_workers_serve_one_etag_and_converge_after_an_edit(tmp_path: Path) -> None:
    data = tmp_path / "events.yaml"
    data.write_text(sample_yaml(), encoding="utf-8")
    state = tmp_path / "state"
    database = state / "trade-calendar.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    create_schema(engine)  # a fresh database: tables, no publication state
    engine.dispose()
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(CONFIG, encoding="utf-8")
    log = tmp_path / "gunicorn.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TRADE_CALENDAR_DATA_PATH": str(data),
        "TRADE_CALENDAR_STATE_DIR": str(state),
        "TRADE_CALENDAR_RELOAD_INTERVAL": "0.2",
        "TRADE_CALENDAR_LOG_LEVEL": "WARNING",
    }
    env.pop("TRADE_CALENDAR_DATABASE_URL", None)
    command = [
        *(sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"),
        *("--config", str(config), "--graceful-timeout", "5", "calendar_service.web:create_app()"),
    ]

    blocker = sqlite3.connect(database, isolation_level=None, timeout=5)
    blocker.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held while the workers boot
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # Every worker opens the database right before it loads the publication state: once all have
        # it open (and a moment more), each has loaded, or is waiting for the lock to load.
        # Bounds, not expectations: gunicorn boots slowly on a loaded machine.
        deadline = time.monotonic() + 60
        while _workers_with_open(process.pid, database) < WORKERS:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, (
                "workers did not open the database in 60 s:\n" + log.read_text()
            )
            time.sleep(0.05)
        time.sleep(0.5)
        blocker.execute("ROLLBACK")
        blocker.close()
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if get_when_up(base + "/readyz").status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline, "gunicorn did not come up in 60 s:\n" + log.read_text()
            time.sleep(0.1)

        feed = base + "/calendar.ics"
        etags = _etags(feed)
        assert len(etags) == 1, f"workers disagree: {etags}"
        (etag,) = etags
        answers = [get_when_up(feed, {"If-None-Match": etag}).status_code for _ in range(30)]
        assert answers == [304] * 30
        sequence = int(prop(vevent(get_when_up(feed).text, "london"), "SEQUENCE"))

        edit(data, "time: 10:40", "time: 11:40")
        deadline = time.monotonic() + 30
        streak, last = 0, etag
        while streak < 10:  # ten fresh connections in a row with the same new ETag
            assert time.monotonic() < deadline, "workers did not converge within 30 s"
            seen = get_when_up(feed).headers["ETag"]
            streak = streak + 1 if seen == last != etag else 0
            last = seen
            time.sleep(0.02)
        etags = _etags(feed)
        assert len(etags) == 1, f"workers disagree after the edit: {etags}"
        assert etags != {etag}
        london = vevent(get_when_up(feed).text, "london")
        assert "T114000" in prop(london, "DTSTART")
        assert int(prop(london, "SEQUENCE")) == sequence + 1
    finally:
        blocker.close()  # closing twice is harmless; an open transaction is rolled back
        stop(process, log, what="gunicorn")


def test_a_bad_setting_stops_gunicorn_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "TRADE_CALENDAR_RELOAD_INTERVAL": "abc", "TRADE_CALENDAR_STATE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "python:calendar_service.web.gunicorn_conf",
         "--no-control-socket", "--bind", f"127.0.0.1:{free_port()}", "calendar_service.web:create_app()"],
        env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    # gunicorn's own "Starting gunicorn" line comes first; then ours, and no traceback.
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: TRADE_CALENDAR_RELOAD_INTERVAL: must be a number of seconds above 0; got 'abc'"
    )
    assert "Traceback" not in done.stderr
