"""Slow clients against a real `trade-calendar serve`: shared by the test and `bench/bench_slow_clients.py`.

`Trickle` keeps `connections` sockets open, each sending one more header line every `every` seconds
(never finishing its request), and opens a new one whenever the server closes one. All of them run in
one thread over non-blocking sockets, so the client side costs no thread per connection either.
`watch` samples the server while they run: `/readyz` latency, its thread count and RSS.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from dataclasses import dataclass, field

import requests

from tests.support.processes import Serve, proc_status


@dataclass
class Trickle:
    """`connections` sockets trickling header lines to `port`, reopened as the server closes them."""

    port: int
    connections: int
    every: float = 1.0
    closed_by_server: int = 0
    opened: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Trickle:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _open(self) -> socket.socket | None:
        sock = socket.socket()
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(b"GET /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        except OSError:
            sock.close()
            return None
        sock.setblocking(False)
        self.opened += 1
        return sock

    def _run(self) -> None:
        sockets: list[socket.socket | None] = []
        try:
            # Open gradually (all within about one period) so the test measures holding, not a SYN flood.
            for _ in range(self.connections):
                if self._stop.is_set():
                    return
                sockets.append(self._open())
                time.sleep(self.every / max(1, self.connections))
            line = 0
            while not self._stop.is_set():
                line += 1
                started = time.monotonic()
                for i, sock in enumerate(sockets):
                    if sock is None:
                        sockets[i] = self._open()
                        continue
                    try:
                        if sock.recv(4096) == b"":  # the server closed it
                            raise ConnectionResetError
                    except BlockingIOError:
                        pass
                    except OSError:
                        self.closed_by_server += 1
                        sock.close()
                        sockets[i] = self._open()
                        continue
                    try:
                        sock.send(f"X-Trickle-{line}: {i}\r\n".encode())
                    except OSError:
                        self.closed_by_server += 1
                        sock.close()
                        sockets[i] = self._open()
                self._stop.wait(max(0.0, self.every - (time.monotonic() - started)))
        finally:
            for sock in sockets:
                if sock is not None:
                    sock.close()


@dataclass
class Watch:
    """What `watch` saw: /readyz latencies, the server's threads and RSS (kB) over time."""

    readyz: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)


def watch(running: Serve, seconds: float, every: float = 0.5) -> Watch:
    """Sample the server for `seconds`: a fresh connection to /readyz each time, threads and RSS."""
    seen = Watch()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            answer = requests.get(running.url + "/readyz", timeout=5, headers={"Connection": "close"})
            if answer.status_code != 200:
                seen.failures.append(f"{answer.status_code}")
        except requests.RequestException as exc:
            seen.failures.append(type(exc).__name__)
        seen.readyz.append(time.monotonic() - started)
        seen.threads.append(proc_status(running.process.pid, "Threads"))
        seen.rss_kb.append(proc_status(running.process.pid, "VmRSS"))
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    return seen


def stop_seconds(running: Serve) -> float:
    """Send SIGTERM and return how long the server took to exit (fails the caller past 30 s)."""
    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    running.process.wait(timeout=30)
    return time.monotonic() - started
