"""The docker-compose topology as plain processes on loopback: web replicas under gunicorn, the nginx
edge from deploy/nginx.conf in front of them, reminder workers, all on one PostgreSQL cluster.

Each process runs in a session of its own, so `kill()` sends SIGKILL to the whole group, as a container
dying would: a gunicorn master and its workers go together, nothing is left holding the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.edge import start_edge, stop_edge
from tests.support.processes import free_port

TOKEN = "topology-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RELOAD_INTERVAL = 0.2  # seconds between a process's looks at the data file


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("trade-calendar")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from calendar_service.cli import main; main()"]


@dataclass
class Proc:
    """One started process (group) and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and everything it started."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 15) -> int | None:
        """SIGTERM the group and wait; SIGKILL if it does not stop. Returns the exit code."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode

    def output(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


@dataclass
class Stack:
    """Starts and stops the topology's processes; every one is stopped by `close()`."""

    work: Path
    database_url: str
    data: Path
    procs: list[Proc] = field(default_factory=list)
    edge_process: subprocess.Popen[bytes] | None = None
    edge_url: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADE_CALENDAR_")}
        env.update(
            TRADE_CALENDAR_DATABASE_URL=self.database_url,
            TRADE_CALENDAR_DATA_PATH=str(self.data),
            TRADE_CALENDAR_STATE_DIR=str(self.work / "state"),
            TRADE_CALENDAR_ADMIN_TOKENS=TOKEN,
            TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS="true",  # the receiver is on loopback
            TRADE_CALENDAR_RELOAD_INTERVAL=str(RELOAD_INTERVAL),
            TRADE_CALENDAR_LOG_LEVEL="WARNING",
        )
        env.update(extra)
        return env

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> Proc:
        log = self.work / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def start_replica(self, name: str, port: int) -> Proc:
        """gunicorn as docker-compose runs it, with one worker process (of four threads): a small machine,
        and one process per replica whose requests the test can reason about."""
        command = [
            *(sys.executable, "-m", "gunicorn", "--config", "python:calendar_service.web.gunicorn_conf"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--graceful-timeout", "5"),
            # gunicorn 27 puts a control socket at one path in $HOME by default: two replicas (and other
            # tests' servers) would take it from each other.
            "--no-control-socket",
            "calendar_service.web:create_app()",
        ]
        metrics = self.work / f"{name}-metrics"
        return self._start(name, command, self.env(PROMETHEUS_MULTIPROC_DIR=str(metrics)))

    def start_worker(self, name: str, *, concurrency: int, lease: float, webhook_timeout: float) -> Proc:
        """`trade-calendar worker`."""
        command = [*_cli(), "worker", "--concurrency", str(concurrency), "--lease", str(lease)]
        return self._start(name, command, self.env(TRADE_CALENDAR_WEBHOOK_TIMEOUT=str(webhook_timeout)))

    def start_edge(self, upstream_ports: list[int], cache_valid: str) -> str:
        """nginx with deploy/nginx.conf, one upstream server per replica; returns its base URL."""
        port = free_port()
        self.edge_process = start_edge(self.work / "nginx", port, upstream_ports, cache_valid=cache_valid)
        self.edge_url = f"http://127.0.0.1:{port}"
        return self.edge_url

    def wait_ready(self, proc: Proc, url: str, timeout: float) -> None:
        """Wait until `url` answers 200; fail with the process's log if it dies or takes too long."""
        deadline = time.monotonic() + timeout
        while True:
            if not proc.alive():
                raise AssertionError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{proc.name} not ready at {url} in {timeout:.0f} s:\n{proc.output()}")
            time.sleep(0.1)

    def close(self) -> None:
        """Stop the edge and every process still running."""
        if self.edge_process is not None:
            stop_edge(self.edge_process)
            self.edge_process = None
        for proc in reversed(self.procs):
            proc.terminate(timeout=10)
