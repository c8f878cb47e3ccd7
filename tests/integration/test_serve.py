"""`trade-calendar serve` as a user runs it: one process, SQLite, stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import requests

from tests.support.processes import serve


def test_serve_runs_the_service_in_one_process(tmp_path: Path) -> None:
    with serve(tmp_path) as running:  # waits (up to 60 s on a loaded machine) for /readyz
        assert requests.get(running.url + "/readyz", timeout=10).json() == {"ready": True}
        feed = requests.get(running.url + "/calendar.ics", timeout=10)
        assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert (tmp_path / "state" / "trade-calendar.sqlite3").exists()
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(timeout=30)
    output = running.log.read_text()
    assert running.process.returncode == 0, output
    assert f"{running.url}/calendar.ics" in output
