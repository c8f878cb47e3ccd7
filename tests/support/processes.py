"""Helpers for tests that run real servers as processes on loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.webapp import sample_yaml


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], log: Path, *, what: str, timeout: float = 15) -> None:
    """SIGTERM `process` and wait; a server that ignores it is killed and the test fails with its log."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hung shutdown
        process.kill()
        process.wait(timeout=5)
        pytest.fail(f"{what} did not stop on SIGTERM within {timeout:.0f} s:\n" + log.read_text())


def proc_status(pid: int, name: str) -> int:
    """A number from /proc/<pid>/status (`Threads`, `VmRSS` in kB); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Serve:
    """A running `trade-calendar serve` process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serve(tmp_path: Path, **env: str) -> Iterator[Serve]:
    """`trade-calendar serve` on a free loopback port with `env` added (TRADE_CALENDAR_* without prefix)."""
    data = tmp_path / "events.yaml"
    data.write_text(sample_yaml(), encoding="utf-8")
    port = free_port()
    environ = {
        **os.environ,
        "TRADE_CALENDAR_STATE_DIR": str(tmp_path / "state"),
        "TRADE_CALENDAR_LOG_LEVEL": "WARNING",
        **{f"TRADE_CALENDAR_{k.upper()}": v for k, v in env.items()},
    }
    command = [sys.executable, "-c", "from calendar_service.cli import main; main()", "serve",
               "--port", str(port), "--data", str(data)]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=environ, stdout=out, stderr=subprocess.STDOUT)
    running = Serve(process, port, log)
    try:
        deadline = time.monotonic() + 60  # starting Python with Flask and SQLAlchemy on a busy machine
        while True:
            try:
                if requests.get(running.url + "/readyz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("serve did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
