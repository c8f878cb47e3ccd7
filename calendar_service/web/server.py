"""The HTTP server of `trade-calendar serve`: waitress, with a whole-request deadline and a clean stop.

werkzeug's development server gave every connection a thread of its own and timed out each socket read,
not the request: a client sending one header line every 20 s held a thread for ever, and 20,000 of them
starved the machine. waitress (Pylons' production server, pure Python) reads every connection in one
select/poll loop and hands only complete requests to a fixed pool of threads, so a slow client costs a
socket and a buffer, never a thread. On top of its limits this module adds what it lacks:

- a deadline for the whole request (request line, headers and body) from its first byte, however
  steadily the client trickles (waitress's `channel_timeout` is an idle timeout, reset by every byte);
- a stop that drains: the listening socket closes at once, requests already read are answered for up
  to `drain` seconds, then every connection is closed.

The access log never shows a credential a client put in the query string (`?token=...` is refused by
the API, but the line was logged before that): values of parameters named like one are replaced.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import resource
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote_plus

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

log = logging.getLogger(__name__)
access_log = logging.getLogger("calendar_service.web.access")

REDACTED = "REDACTED"
# Query parameter names whose values are credentials, matched anywhere in the (decoded) name.
_SECRET_NAME = re.compile(r"token|secret|passw|api[-_]?key|auth|signature|session|^key$|^sig$", re.I)
WSGIApp = Callable[..., Iterable[bytes]]
_FD_RESERVE = 128  # descriptors kept for the database, the data file, webhooks and logs
_ACCEPT_BATCH = 256  # connections taken from the kernel's queue per wake-up


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """How much one client, and all of them together, may hold of the server."""

    request_timeout: float = 15.0  # seconds from a request's first byte to its last (headers and body)
    idle_timeout: float = 15.0  # seconds a kept-alive connection may wait for its next request
    max_connections: int = 2000  # open connections; beyond it the server stops accepting (kernel backlog)
    threads: int = 8  # requests handled at once; the rest wait in a queue
    max_body_bytes: int = 64 * 1024
    max_header_bytes: int = 64 * 1024
    drain: float = 3.0  # seconds a stop waits for requests already read


def redact_target(target: str) -> str:
    """`target` (a path with its query) with the values of credential-like parameters replaced."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    parts = []
    for item in query.split("&"):
        name, eq, _value = item.partition("=")
        secret = _SECRET_NAME.search(unquote_plus(name))
        parts.append(f"{name}={REDACTED}" if eq and secret else item)
    return f"{path}?{'&'.join(parts)}"


class _Channel(HTTPChannel):
    """waitress's connection, remembering when the request being read began."""

    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None and self.request_started is None:
            self.request_started = time.monotonic()
        done: bool = super().received(data)
        if self.request is None:  # nothing half-read: the deadline starts again with the next byte
            self.request_started = None
        return done


class _Listener(TcpWSGIServer):
    """waitress's listener with float timeouts: idle connections and overdue requests are closed."""

    channel_class = _Channel
    limits: ServerLimits = ServerLimits()

    def handle_accept(self) -> None:
        # waitress accepts one connection per wake-up of its loop, and each wake-up walks every open
        # connection: after a burst of reconnects a health probe waited seconds in the kernel's queue.
        for _ in range(_ACCEPT_BATCH):
            if len(cast(dict[int, HTTPChannel], self.active_channels)) >= self.adj.connection_limit:
                return
            try:
                accepted = self.accept()
                if accepted is None:  # nothing more waiting
                    return
                conn, addr = accepted
                self.set_socket_options(conn)
            except OSError:  # the peer left before we got to it: the next one
                continue
            self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)  # type: ignore[attr-defined]

    def maintenance(self, now: float) -> None:
        # Called by waitress about once a `cleanup_interval` (1 s here) from its loop.
        idle_cutoff = now - self.limits.idle_timeout
        overdue = time.monotonic() - self.limits.request_timeout
        for channel in _channels(self):
            if channel.requests:  # being answered: the pool's and the drain's business
                continue
            started = getattr(channel, "request_started", None)
            if (started is not None and started < overdue) or (
                started is None and channel.last_activity < idle_cutoff
            ):
                channel.will_close = True


class HTTPServer:
    """`app` served on `host:port` within `limits`; `serve_forever` until `stop` (any thread or signal)."""

    def __init__(self, host: str, port: int, app: WSGIApp, limits: ServerLimits) -> None:
        _raise_descriptor_limit(limits.max_connections + _FD_RESERVE)
        self.limits = limits
        self._map: dict[int, Any] = {}
        self._dispatcher = ThreadedTaskDispatcher()
        self._dispatcher.set_thread_count(limits.threads)
        listener_class = type("Listener", (_Listener,), {"limits": limits})
        self._listener = listener_class(
            _logged(app),
            map=self._map,
            dispatcher=self._dispatcher,
            host=host,
            port=port,
            threads=limits.threads,
            connection_limit=limits.max_connections,
            cleanup_interval=1,
            channel_timeout=max(1, int(limits.idle_timeout)),
            max_request_body_size=limits.max_body_bytes,
            max_request_header_size=limits.max_header_bytes,
            asyncore_use_poll=True,  # select() cannot watch a descriptor above 1024
            ident="trade-calendar",
            expose_tracebacks=False,
        )
        self._stopping = threading.Event()

    @property
    def server_port(self) -> int:
        """The port listened on (the one the OS chose for port 0)."""
        return int(self._listener.effective_port)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until `stop`; then drain and close every connection."""
        while not self._stopping.is_set() and self._map:
            self._listener.asyncore.loop(timeout=poll_interval, map=self._map, use_poll=True, count=1)
        self._drain()

    def stop(self) -> None:
        """Ask `serve_forever` to drain and return (safe from a signal handler or another thread)."""
        self._stopping.set()
        with contextlib.suppress(OSError):  # already closed
            self._listener.pull_trigger()

    def _drain(self) -> None:
        """Refuse new connections at once; answer what was already read for up to `limits.drain` s."""
        if self._listener.socket is not None:
            self._listener.del_channel()
            self._listener.socket.close()
        deadline = time.monotonic() + self.limits.drain
        while time.monotonic() < deadline and any(
            channel.requests or channel.total_outbufs_len for channel in _channels(self._listener)
        ):
            self._listener.asyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
        self._dispatcher.shutdown(cancel_pending=True, timeout=max(1, math.ceil(deadline - time.monotonic())))
        self._listener.asyncore.close_all(self._map)


def _channels(listener: TcpWSGIServer) -> list[HTTPChannel]:
    """The listener's open connections (its stubs type the dict as one channel)."""
    active = cast(dict[int, HTTPChannel], listener.active_channels)
    return list(active.values())


def _raise_descriptor_limit(needed: int) -> None:
    """Raise this process's soft open-file limit towards `needed` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if hard != resource.RLIM_INFINITY and hard < needed:
        log.warning("open-file limit %d is below the connections allowed plus a reserve (%d)", hard, needed)


def _logged(app: WSGIApp) -> WSGIApp:
    """`app` writing one access-log line per request, credentials in the query string replaced."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            query = environ.get("QUERY_STRING", "")
            target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            access_log.info(
                '%s "%s %s" %s',
                environ.get("REMOTE_ADDR", "-"),
                environ.get("REQUEST_METHOD", "-"),
                redact_target(target),
                status.split(" ", 1)[0],
            )
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


def make_http_server(host: str, port: int, app: Any, limits: ServerLimits | None = None) -> HTTPServer:
    """A server for `app` on `host:port` within `limits` (the defaults when None)."""
    return HTTPServer(host, port, app, limits or ServerLimits())
