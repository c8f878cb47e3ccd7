"""Send one signed webhook attempt safely and classify what happened.

Safety on every attempt, not only at registration:
- the name is resolved inside the HTTP adapter and every address checked by the `AddressPolicy`; the
  connection is then pinned to the checked address (the pattern of requests-hardened's
  `IPFilterAdapter`, whose `Host`/SNI handling this copies, with our policy and an injectable resolver);
- redirects are never followed (requests-hardened `never_redirect`, and `allow_redirects=False`);
- proxy and netrc settings from the environment are ignored (`trust_env=False`);
- at most `max_response_bytes` of the answer are read, uncompressed (`Accept-Encoding: identity`);
- a watchdog shuts the socket down when `timeout` has passed since the attempt started, so neither a
  slow connect, nor slow headers, nor a body trickled byte by byte holds an attempt longer.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_hardened import Config, HTTPSession
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..clock import Clock, SystemClock
from ..errors import UnsafeWebhookURL
from .attempt import Attempt, AttemptOutcome
from .payloads import Format, Message, render_payload
from .retry import parse_retry_after
from .security import AddressPolicy, redact_url
from .signing import sign

log = logging.getLogger(__name__)

USER_AGENT = "trade-calendar-webhooks/1"


SessionFactory = Callable[[AddressPolicy], requests.Session]


def hardened_session(policy: AddressPolicy) -> requests.Session:
    """A requests-hardened session that never redirects, ignores the environment, pins checked IPs."""
    session: requests.Session = HTTPSession(Config(
        ip_filter_enable=False,  # replaced by _PinnedAdapter below, which applies our AddressPolicy
        ip_filter_allow_loopback_ips=False,
        never_redirect=True,
        default_timeout=None,
        user_agent_override=USER_AGENT,
    ))
    session.trust_env = False  # no HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE or .netrc from the env
    session.mount("http://", _PinnedAdapter(policy, https=False))
    session.mount("https://", _PinnedAdapter(policy, https=True))
    return session


class WebhookClient:
    """Turns a message into a signed POST in the subscriber's format and reports the outcome."""

    def __init__(
        self,
        policy: AddressPolicy,
        timeout: float,
        max_response_bytes: int = 64 * 1024,
        session_factory: SessionFactory = hardened_session,
        clock: Clock | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        self.policy = policy
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.clock: Clock = clock or SystemClock()
        self._session_factory = session_factory
        self._local = threading.local()  # one session per thread: requests.Session is not thread-safe
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WebhookClient({self.policy!r}, timeout={self.timeout})"

    def send(self, url: str, secret: str, message: Message, fmt: Format) -> Attempt:
        """Make one attempt to deliver `message` to `url`; never raises for network or HTTP trouble."""
        started_at = self.clock.now()
        body = render_payload(message, fmt)
        # Standard Webhooks: webhook-timestamp is when this attempt is sent (receivers reject stale ones);
        # webhook-id stays the message id on every retry so receivers can deduplicate.
        headers = sign(secret, message.id, started_at, body)
        headers.update({"Content-Type": "application/json", "Accept-Encoding": "identity"})
        t0 = time.monotonic()
        watch = _Watch(t0 + self.timeout)
        status: int | None = None
        retry_after: float | None = None
        token = _WATCH.set(watch)
        _WATCHDOG.add(watch)
        try:
            self.policy.split_url(url)  # scheme and form; the address is checked at connect time
            response = self._session().post(
                url, data=body, headers=headers, allow_redirects=False, stream=True,
                timeout=(self.timeout, self.timeout),
            )
            try:
                status = response.status_code
                retry_after = parse_retry_after(response.headers.get("Retry-After"), started_at)
                snippet = self._read_capped(response)
            finally:
                response.close()
            outcome, error = _classify(status, response.headers.get("Location"), snippet)
        except UnsafeWebhookURL as exc:
            outcome, error = "failed", str(exc)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # reading response.raw directly raises urllib3's own errors (and OSError), not requests'
            refused = _refusal(exc)
            if refused is not None:
                outcome, error = "failed", str(refused)
            elif watch.fired or isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
                outcome, error = "retry", f"timed out after {self.timeout:g} s"
            elif isinstance(exc, requests.ConnectionError | urllib3.exceptions.HTTPError | OSError):
                outcome, error = "retry", f"connection failed: {_root_cause(exc)}"
            else:
                outcome, error = "failed", f"request failed: {type(exc).__name__}"
            if status is not None:
                # The status line arrived, then the body stalled or broke: the status is the receiver's
                # answer (a 2xx was accepted; sending again would duplicate), the cut-off is noted.
                outcome = _classify(status, None, "")[0]
                error = f"HTTP {status}; response cut off: {error}"
        finally:
            watch.done = True
            _WATCH.reset(token)
        latency_ms = (time.monotonic() - t0) * 1000
        attempt = Attempt(started_at, status, round(latency_ms, 1), error,
                          retry_after if outcome == "retry" else None, outcome)
        log.info("webhook %s (%s) to %s: %s in %.0f ms%s", message.id, message.type, redact_url(url),
                 outcome, latency_ms, f" ({error})" if error else "")
        return attempt

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._session_factory(self.policy)
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every pooled connection (call once, when the worker stops)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def _read_capped(self, response: requests.Response) -> str:
        """Read at most max_response_bytes of the body; return a short printable excerpt of it."""
        kept = bytearray()
        while len(kept) < self.max_response_bytes:
            chunk = response.raw.read(min(16384, self.max_response_bytes - len(kept)), decode_content=False)
            if not chunk:
                break
            kept += chunk
        text = bytes(kept[:300]).decode("utf-8", "replace")
        return "".join(c if c.isprintable() else " " for c in text).strip()[:200]


def _classify(status: int, location: str | None, snippet: str) -> tuple[AttemptOutcome, str | None]:
    if 200 <= status < 300:
        return "delivered", None
    detail = f": {snippet}" if snippet else ""
    if 300 <= status < 400:
        where = f" to {redact_url(location)}" if location else ""
        return "failed", f"HTTP {status} redirect{where} not followed; register the final URL"
    if status == 429 or status >= 500:
        return "retry", f"HTTP {status}{detail}"
    return "failed", f"HTTP {status}{detail}"


def _root_cause(exc: BaseException) -> str:
    """The innermost OS-level reason (e.g. `[Errno 111] Connection refused`), without the URL."""
    seen: BaseException | None = exc
    found = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, OSError) and not isinstance(seen, requests.RequestException) and seen.errno:
            return f"[Errno {seen.errno}] {seen.strerror}"
        found = seen
        nested = [a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException):
            nested.insert(0, reason)
        seen = seen.__cause__ or seen.__context__ or next(iter(nested), None)
    return type(found).__name__


def _refusal(exc: BaseException) -> UnsafeWebhookURL | None:
    """The policy refusal behind `exc` (requests wraps errors raised in the adapter in InvalidURL)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, UnsafeWebhookURL):
            return seen
        nested = [a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)]
        seen = seen.__cause__ or seen.__context__ or next(iter(nested), None)
    return None


# --- address pinning (after requests-hardened's IPFilterAdapter) ------------------------------------

class _PinnedAdapter(HTTPAdapter):
    """Resolve and check the host on every request, then connect to exactly the checked address."""

    def __init__(self, policy: AddressPolicy, *, https: bool) -> None:
        self._policy = policy
        self._https = https
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(params)
        pool_kwargs: dict[str, Any] = dict(kwargs)
        request.headers = CaseInsensitiveDict(request.headers or {})  # never mutate a shared dict
        host = host_params["host"]
        port = host_params["port"]
        host_header = f"[{host}]" if ":" in host else host
        request.headers["Host"] = host_header + (f":{port}" if port is not None else "")
        if self._https:
            # verify the certificate and send SNI for the name, not the pinned address
            pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
        try:
            address = self._policy.connect_address(
                host, port or (443 if self._https else 80), request.url or ""
            )
        except OSError as exc:
            raise requests.ConnectionError(f"cannot resolve {host!r}: {exc}", request=request) from exc
        host_params["host"] = address
        return host_params, pool_kwargs


# --- total-time watchdog ---------------------------------------------------------------------------

class _Watch:
    """One attempt's deadline and the connection it is using, shared with the watchdog thread."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.conn: HTTPConnection | None = None
        self.fired = False
        self.done = False

    def fire(self) -> None:
        if self.done:
            return
        self.fired = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv()/send()


_WATCH: ContextVar[_Watch | None] = ContextVar("webhook_watch", default=None)


class _Watchdog:
    """One daemon thread that fires each watch at its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.deadline, next(self._seq), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhook-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, watch = heapq.heappop(self._heap)
            watch.fire()


_WATCHDOG = _Watchdog()


class _WatchedConnectionMixin:
    """Register the connection with the current attempt's watch on connect and on each request."""

    def _register(self) -> None:
        watch = _WATCH.get()
        if watch is not None:
            watch.conn = self  # type: ignore[assignment]
            if watch.fired:
                raise TimeoutError("webhook attempt deadline passed")

    def connect(self) -> None:
        # HTTPS connects (and does the TLS handshake) before request(); urllib3 sets self.sock to the
        # plain socket before wrapping it, so the watchdog can cut a handshake that is trickled too.
        self._register()
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._register()
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection
