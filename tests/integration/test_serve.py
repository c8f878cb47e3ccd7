"""`trade-calendar serve` as a user runs it: one process, SQLite, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.processes import free_port
from tests.support.webapp import sample_yaml


def test_serve_runs_the_service_in_one_process(tmp_path: Path) -> None:
    data = tmp_path / "events.yaml"
    data.write_text(sample_yaml(), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "TRADE_CALENDAR_STATE_DIR": str(tmp_path / "state"),
        "TRADE_CALENDAR_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from calendar_service.cli import main; main()", "serve",
               "--port", str(port), "--data", str(data)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Generous bounds: starting Python with Flask and SQLAlchemy on a loaded machine takes a while.
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "serve did not come up in 60 s"
                time.sleep(0.1)
        assert ready.json() == {"ready": True}
        feed = requests.get(f"http://127.0.0.1:{port}/calendar.ics", timeout=10)
        assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert (tmp_path / "state" / "trade-calendar.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/calendar.ics" in output
