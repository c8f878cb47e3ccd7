"""A real HTTP receiver on 127.0.0.1 for webhook tests: records what arrives, answers as scripted.

    with Receiver() as rx:                      # listening on a free port
        rx.script(Reply(500), Reply(200))       # first request 500, then 200, then the default (200)
        ...send to rx.url...
        rx.wait_for(2)                          # block until two requests arrived (or fail)
        rx.requests[0].headers["webhook-id"]

Faults it can play: down at first (`Receiver(start=False)`, then `.start()` on the same port, or
`.stop()` mid-test), slow past a timeout (`Reply(delay=5)`), a body trickled byte by byte
(`Reply(trickle=...)`), 500 then 200, 410, 400, 429 with `Retry-After`, a redirect
(`Reply(302, headers={"Location": ...})`). Handler threads are daemons and sleeps wake on `stop()`,
so a slow reply never holds a test open.

The port is the kernel's pick (a bind to port 0) and stays the receiver's until it is closed: while it is
down, a socket bound to the port but not listening holds it, so connections are refused yet nothing else
(another pytest-xdist worker's server, a client's ephemeral port) can take it before `.start()`.
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, headers, body, a delay before answering, an optional slow body."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before sending anything
    # (chunks, seconds between chunks): send `body` split into `chunks` pieces, pausing between them
    trickle: tuple[int, float] | None = None
    # a Content-Length larger than the body, to play a server that never finishes (with trickle)
    content_length: int | None = None


@dataclass(frozen=True)
class Recorded:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.monotonic() when the body had been read
    peer: int = 0  # the client's port: requests on one kept-alive connection share it


class Receiver:
    """A threaded HTTP server on a free loopback port that records requests and replays a script."""

    def __init__(self, *, start: bool = True, default: Reply | None = None) -> None:
        self.default = default or Reply(200)
        self.requests: list[Recorded] = []
        self._held: list[socket.socket] = [_bound(0)]  # the port's placeholder while not listening
        self.port = int(self._held[0].getsockname()[1])
        # A test that ends with `stop()`, not `close()`, still lets go of the port with the receiver.
        weakref.finalize(self, _release, self._held)
        self._script: deque[Reply] = deque()
        self._responder: Callable[[Recorded], Reply] | None = None
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:40123`; append any path."""
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Queue answers for the next requests, in order; afterwards `default` answers."""
        with self._cond:
            self._script.extend(replies)

    def respond_with(self, responder: Callable[[Recorded], Reply] | None) -> None:
        """Answer every request by calling `responder` (after the script is used up)."""
        self._responder = responder

    def start(self) -> None:
        """Listen on `self.port` (again, after a stop) and serve in a daemon thread."""
        if self._server is not None:
            return
        self._stopping.clear()
        # Bound beside the placeholder (both SO_REUSEADDR, neither listening yet), then the placeholder
        # goes: the port is never free in between.
        server = _Server(("127.0.0.1", self.port), _Handler, bind_and_activate=False)
        try:
            server.server_bind()
            server.server_activate()
        except BaseException:
            server.server_close()
            raise
        _release(self._held)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"receiver-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (connections are then refused, the port kept); slow replies are cut short."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        # A listening socket cannot share its port, so the placeholder comes straight after the close.
        self._held.append(_bound(self.port))
        if self._thread is not None:
            self._thread.join(timeout=5)

    def close(self) -> None:
        """Stop and let go of the port."""
        self.stop()
        _release(self._held)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        """Block until at least `count` requests were recorded; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver got {len(self.requests)} request(s), expected {count}")
                self._cond.wait(left)
            return list(self.requests)

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # called from handler threads
    def _record(self, recorded: Recorded) -> Reply:
        with self._cond:
            self.requests.append(recorded)
            self._cond.notify_all()
            if self._script:
                return self._script.popleft()
        if self._responder is not None:
            return self._responder(recorded)
        return self.default


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, size cap) makes writes fail; that is the test's point.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = receiver._record(
            Recorded(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                at=time.monotonic(),
                peer=self.client_address[1],
            )
        )
        if reply.delay and receiver._stopping.wait(reply.delay):
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(reply.content_length or len(reply.body)))
        self.end_headers()
        for i, chunk in enumerate(_chunks(reply)):
            if i and reply.trickle and receiver._stopping.wait(reply.trickle[1]):
                return
            self.wfile.write(chunk)
            self.wfile.flush()

    do_POST = do_GET = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _chunks(reply: Reply) -> Iterator[bytes]:
    if not reply.trickle:
        yield reply.body
        return
    count = max(1, reply.trickle[0])
    size = max(1, -(-len(reply.body) // count))
    for start in range(0, len(reply.body), size):
        yield reply.body[start : start + size]


def _bound(port: int) -> socket.socket:
    """A loopback TCP socket bound to `port` (0: the kernel picks) that never listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Lets the server bind beside it; Linux still keeps the port from a bind to 0 and from connect().
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return sock


def _release(held: list[socket.socket]) -> None:
    while held:
        held.pop().close()
