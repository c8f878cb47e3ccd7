"""A data file rewritten in place is never published half-written; a mass removal waits for a curator.

Issue 17, finding 2: an in-place rewrite (truncate, write the first part, pause, write the rest — what
`rsync --inplace`, some editors and network file systems do) was served as a valid one-event calendar,
and every subscriber heard 145 `event.cancelled` and then 145 `event.created`. Here a real `trade-calendar
serve` watches a real file with a subscriber (a loopback receiver) listening for change notices:

- a pause shorter than `TRADE_CALENDAR_RELOAD_SETTLE`: the half-written file is never read;
- a pause longer than it: the half-written file parses, but removes nearly every event, so it is held
  (on /healthz, in the log once), announced to nobody, and dropped when the rest arrives;
- a meant mass removal (atomic rename) is held until `trade-calendar publish --confirm`, then published
  and announced.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.polling import poll, wait_until
from tests.support.processes import free_port, stop
from tests.support.receiver import Receiver
from tests.support.reminders import calendar_yaml, event

TOKEN = "torn-writes-token-0123456789abcdef"
EVENTS = 40
DEADLINE = dt.datetime(2027, 3, 1, 15, 0, tzinfo=dt.UTC)
CLI = "from calendar_service.cli import main; main()"


def _events(count: int = EVENTS, *, edited: bool = False) -> list[dict[str, Any]]:
    """The events; `edited`: retitled, and the first moved by half a day (one `event.rescheduled`)."""
    out = []
    for i in range(count):
        moved = dt.timedelta(hours=12) if edited and i == 0 else dt.timedelta(0)
        record = event(f"e{i:02d}", DEADLINE + dt.timedelta(days=i) + moved)
        record["title"] = f"{'Edited' if edited else 'Deadline'} e{i:02d}"
        out.append(record)
    return out


@dataclass
class Server:
    """A running `trade-calendar serve`: its address, data file, log and environment."""

    url: str
    data: Path
    log: Path
    env: dict[str, str]

    def health(self) -> dict[str, Any]:
        """The /healthz report."""
        return requests.get(self.url + "/healthz", timeout=10).json()  # type: ignore[no-any-return]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `trade-calendar` command against the same settings."""
        return subprocess.run(
            [sys.executable, "-c", CLI, *args], env=self.env, capture_output=True, text=True, timeout=60
        )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


@pytest.fixture
def serve(tmp_path: Path, receiver: Receiver) -> Iterator[Callable[..., Server]]:
    """Start `serve` on the 40-event file, subscribed to by `receiver`; settings as asked."""
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(**settings: str) -> Server:
        data = tmp_path / "events.yaml"
        data.write_text(calendar_yaml(_events()), encoding="utf-8")
        old = time.time() - 60  # written a while ago: read at start without waiting
        os.utime(data, (old, old))
        env = {
            **os.environ,
            "TRADE_CALENDAR_DATA_PATH": str(data),
            "TRADE_CALENDAR_STATE_DIR": str(tmp_path / "state"),
            "TRADE_CALENDAR_ADMIN_TOKENS": TOKEN,
            "TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS": "true",
            "TRADE_CALENDAR_RELOAD_INTERVAL": "0.1",
            "TRADE_CALENDAR_LOG_LEVEL": "INFO",
            **{f"TRADE_CALENDAR_{name.upper()}": value for name, value in settings.items()},
        }
        port = free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", CLI, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
            )
        processes.append((process, log))
        url = f"http://127.0.0.1:{port}"
        poll("serve to answer", lambda: _ready(url, process, log), timeout=60)
        subscribed = requests.post(
            url + "/api/v1/subscriptions", json={"url": receiver.url, "lead_times": ["PT1H"]},
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
        )  # fmt: skip
        assert subscribed.status_code == 201, subscribed.text
        return Server(url, data, log, env)

    yield start
    for process, log in processes:
        stop(process, log, what="trade-calendar serve")


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> bool | None:
    assert process.poll() is None, log.read_text()
    try:
        return requests.get(url + "/readyz", timeout=5).status_code == 200 or None
    except requests.ConnectionError:
        return None


def _notices(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.requests]


def _write_in_place(path: Path, text: str, cut: int, pause: Callable[[], None]) -> None:
    """Rewrite `path` in place as `rsync --inplace` does: truncate, `cut` bytes, a pause, the rest."""
    raw = text.encode()
    with path.open("r+b") as handle:
        handle.truncate(0)
        handle.write(raw[:cut])
        handle.flush()
        os.fsync(handle.fileno())
        pause()
        handle.write(raw[cut:])
        handle.flush()


def _first_event_only() -> int:
    """Where to cut the new text so the part before is a valid calendar of its first event alone."""
    full, one = calendar_yaml(_events(edited=True)), calendar_yaml(_events(1, edited=True))
    assert full.startswith(one)
    return len(one.encode())


def test_a_short_pause_in_an_in_place_rewrite_is_never_read(
    serve: Callable[..., Server], receiver: Receiver
) -> None:
    server = serve(reload_settle="1.5")
    seen: list[int] = []
    edited = calendar_yaml(_events(edited=True))

    def pause() -> None:  # a second, watching what the server serves: ten checks happen meanwhile
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            seen.append(server.health()["events"])
            time.sleep(0.05)

    _write_in_place(server.data, edited, _first_event_only(), pause)
    wait_until(lambda: "Edited e00" in requests.get(server.url + "/calendar.ics", timeout=10).text)
    assert set(seen) == {EVENTS}
    assert server.health()["held"] is None
    wait_until(lambda: "event.rescheduled" in _notices(receiver), what="the notice of the edit")
    assert _notices(receiver) == ["event.rescheduled"]


def test_a_half_written_file_read_after_a_long_pause_is_held_and_never_announced(
    serve: Callable[..., Server], receiver: Receiver
) -> None:
    server = serve(reload_settle="0.3")
    edited = calendar_yaml(_events(edited=True))
    held: list[dict[str, Any]] = []

    def pause() -> None:  # as long as it takes the server to read the first part and judge it
        held.append(poll("the half-written file held", lambda: server.health()["held"]))

    _write_in_place(server.data, edited, _first_event_only(), pause)
    (report,) = held
    assert (report["removes"], report["of"]) == (EVENTS - 1, EVENTS)
    assert "trade-calendar publish --confirm" in report["message"]
    wait_until(lambda: "Edited e00" in requests.get(server.url + "/calendar.ics", timeout=10).text)
    health = server.health()
    assert (health["events"], health["held"], health["status"]) == (EVENTS, None, "ok")
    wait_until(lambda: "event.rescheduled" in _notices(receiver), what="the notice of the edit")
    assert _notices(receiver) == ["event.rescheduled"]
    assert server.log.read_text().count("is held, not published") == 1  # reported once, not every check


def test_a_meant_mass_removal_waits_for_publish_confirm(
    serve: Callable[..., Server], receiver: Receiver
) -> None:
    server = serve()
    kept = calendar_yaml(_events(10))
    staged = server.data.with_name("events.yaml.new")
    staged.write_text(kept, encoding="utf-8")
    staged.replace(server.data)  # atomic rename: a whole file, but 30 of 40 events gone
    report = poll("the removal held", lambda: server.health()["held"])
    assert report["removes"] == 30
    assert server.health()["status"] == "degraded"
    assert server.health()["events"] == EVENTS  # still serving the old version

    asked = server.cli("publish")
    assert asked.returncode == 0, asked.stderr
    assert report["sha256"] in asked.stdout
    assert "not confirmed" in asked.stdout
    assert _notices(receiver) == []  # nothing announced while held

    confirmed = server.cli("publish", "--confirm")
    assert confirmed.returncode == 0, confirmed.stderr
    wait_until(lambda: server.health()["events"] == 10, what="the confirmed version served")
    assert server.health()["held"] is None
    wait_until(lambda: _notices(receiver).count("event.cancelled") == 30, what="30 cancellation notices")
