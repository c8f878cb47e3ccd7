"""`trade-calendar serve` as a user runs it, on the real clock: subscribe, move a deadline, break the file.

One subprocess on a free loopback port with a copy of `tests/data/future.yaml` (deadlines in 2027), a
private state dir and a webhook receiver on loopback. Every wait is a short poll with a deadline; the
whole test stays well under 20 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from standardwebhooks import Webhook

from tests.support.paths import TESTS_DATA
from tests.support.polling import poll
from tests.support.processes import free_port
from tests.support.receiver import Receiver

TOKEN = "end-to-end-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EVENT = "reciprocal-tariff"
UID = f"UID:{EVENT}@trade-calendar"
OLD_START = "DTSTART;TZID=America/New_York:20270709T000100"
NEW_START = "DTSTART;TZID=America/New_York:20270801T000100"
HISTORY = """    history:
      - changed: 2026-01-20
        kind: rescheduled
        was: {date: 2027-07-09, time: "00:01", tz: America/New_York}
        note: Pushed back to 1 August
"""


def _command() -> list[str]:
    script = Path(sys.executable).with_name("trade-calendar")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from calendar_service.cli import main; main()"]


class Served:
    """The running `serve` process: its base URL, data file and log."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, data: Path, log: Path) -> None:
        self.process = process
        self.url = url
        self.data = data
        self.log = log

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET `path` (no redirects)."""
        return requests.get(self.url + path, allow_redirects=False, timeout=10, **kwargs)

    def output(self) -> str:
        """What the process printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def _vevent(feed: str, uid: str) -> str:
    (block,) = [b for b in feed.split("BEGIN:VEVENT")[1:] if uid in b.split("END:VEVENT")[0]]
    return block.split("END:VEVENT")[0].replace("\r\n ", "")  # unfold (RFC 5545 §3.1)


def _sequence(vevent: str) -> int:
    match = re.search(r"^SEQUENCE:(\d+)\r?$", vevent, re.MULTILINE)
    return int(match.group(1)) if match else 0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data = tmp_path / "events.yaml"
    shutil.copyfile(TESTS_DATA / "future.yaml", data)
    log = tmp_path / "serve.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADE_CALENDAR_")}
    env.update(
        TRADE_CALENDAR_STATE_DIR=str(tmp_path / "state"),
        TRADE_CALENDAR_ADMIN_TOKENS=TOKEN,
        TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS="true",
        TRADE_CALENDAR_RELOAD_INTERVAL="0.2",
        TRADE_CALENDAR_LOG_LEVEL="INFO",
    )
    command = [*_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = Served(process, f"http://127.0.0.1:{port}", data, log)
    try:

        def ready() -> bool | None:
            assert process.poll() is None, server.output()
            try:
                return server.get("/readyz").status_code == 200 or None
            except (requests.ConnectionError, requests.Timeout):
                return None

        poll("serve comes up", ready, timeout=60)  # a bound: Python starts slowly on a loaded machine
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_subscribe_move_a_deadline_refuse_a_bad_edit_and_stop(served: Served) -> None:
    with Receiver() as rx:
        # Subscribe over HTTP as a user would (standard format, the default lead times).
        created = requests.post(
            served.url + "/api/v1/subscriptions", json={"url": rx.url + "/hook", "format": "standard"},
            headers=AUTH, timeout=5,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        before = _vevent(served.get("/calendar.ics").text, UID)
        assert OLD_START in before

        # The curator moves the deadline and records what it was.
        text = served.data.read_text(encoding="utf-8")
        moved = text.replace("    date: 2027-07-09\n", "    date: 2027-08-01\n", 1).replace(
            '    sources: [{title: Executive order, url: "https://example.com/eo"}]\n',
            '    sources: [{title: Executive order, url: "https://example.com/eo"}]\n' + HISTORY, 1,
        )  # fmt: skip
        assert moved != text
        served.data.write_text(moved, encoding="utf-8")

        def rescheduled() -> dict[str, Any] | None:
            for request in list(rx.requests):
                body = json.loads(request.body)
                if body["type"] == "event.rescheduled":
                    # webhook-timestamp is the send time, so the real clock verifies it.
                    Webhook(secret).verify(request.body, request.headers)
                    return body  # type: ignore[no-any-return]
            return None

        message = poll("event.rescheduled reaches the receiver", rescheduled)
        data = message["data"]
        assert data["event_id"] == EVENT
        assert data["old"]["utc"] == "2027-07-09T04:01:00Z"
        assert data["new"]["utc"] == "2027-08-01T04:01:00Z"

        after = _vevent(served.get("/calendar.ics").text, UID)
        assert NEW_START in after
        assert _sequence(after) > _sequence(before)
        changes = served.get("/api/v1/changes", params={"since": "2026-01-01"}).json()["items"]
        assert any(c["event_id"] == EVENT and c["change"] == "rescheduled" for c in changes), changes

    # An invalid edit: nothing served changes, /healthz says where the file is wrong.
    feed = served.get("/calendar.ics").content
    broken = moved.replace("    date: 2027-08-01\n", "    date: 2027-13-01\n", 1)
    served.data.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("    date: 2027-13-01") + 1

    def refused() -> dict[str, Any] | None:
        failure: dict[str, Any] | None = served.get("/healthz").json()["last_failed_reload"]
        return failure

    failure = poll("/healthz reports the refused edit", refused)
    assert any(f"{served.data}:{line}:" in error for error in failure["errors"]), failure
    assert served.get("/healthz").json()["status"] == "degraded"
    assert served.get("/calendar.ics").content == feed

    # SIGTERM: a clean exit, promptly.
    served.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    # Within Docker's stop timeout (10 s, then SIGKILL), however busy the machine.
    assert served.process.wait(timeout=10) == 0, served.output()
    assert time.monotonic() - started < 10
    assert "Traceback" not in served.output(), served.output()
