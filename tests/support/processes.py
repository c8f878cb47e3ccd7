"""Helpers for tests that run real servers as processes on loopback ports."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest


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
