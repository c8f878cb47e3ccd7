"""Send signed webhook attempts safely, many at once, and classify what happened.

aiohttp, on one event loop (`loop.LoopThread`): a burst of thousands of reminders is thousands of
coroutines over a pool of kept-alive connections (at most `connections` in all and `per_host` to one
host), not a thread per request. Threaded callers (a Flask view's test send, the CLI) use `send()`,
which runs the same coroutine on that loop and waits.

Safety on every attempt, not only at registration:
- every address is checked by the `AddressPolicy` when a connection is opened: a literal address
  before the request, a name inside aiohttp's resolver (`_PolicyResolver`), which returns only the
  checked address, so the connection is pinned to it (DNS cache off: each new connection resolves
  again, and a kept-alive one stays on the address it was checked at);
- redirects are never followed (`allow_redirects=False`);
- proxy and netrc settings from the environment are ignored (aiohttp's `trust_env=False`);
- at most `max_response_bytes` of the answer are read, undecoded (`Accept-Encoding: identity`,
  `auto_decompress=False`);
- aiohttp's total timeout covers the whole attempt, so neither a slow connect, nor slow headers, nor a
  body trickled byte by byte holds an attempt longer than `timeout`.

A payload can be rendered and signed ahead of sending (`prepare`), so the reminder engine does that
work before the due instant and only the request itself happens at it (`post`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import ssl
import time
import weakref
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from calendar_service.adapters.clock import Clock, SystemClock
from calendar_service.adapters.webhooks.loop import LoopThread
from calendar_service.adapters.webhooks.security import AddressPolicy, parse_literal, redact_url
from calendar_service.adapters.webhooks.signing import sign
from calendar_service.core.errors import UnsafeWebhookURL
from calendar_service.core.messages import Format, Message
from calendar_service.core.reminders.attempts import Attempt, AttemptOutcome
from calendar_service.core.reminders.retry import parse_retry_after
from calendar_service.render.webhook_payloads import render_payload

log = logging.getLogger(__name__)

USER_AGENT = "trade-calendar-webhooks/1"
_FIXED_HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
# A payload signed ahead is signed again when it goes out later than this after its timestamp
# (queued behind a slow host): receivers reject stale timestamps (Standard Webhooks allows 5 minutes).
RESIGN_AFTER = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Prepared:
    """A request ready to go: rendered body and its signature headers, made at `signed_at`."""

    url: str
    message_id: str
    message_type: str
    body: bytes
    headers: dict[str, str]
    signed_at: dt.datetime
    secret: str = field(repr=False)
    previous_secret: str | None = field(default=None, repr=False)
    # `url` parsed, once its form and literal address passed the policy (None: `post` checks it, and
    # says why it fails)
    target: URL | None = None


class WebhookClient:
    """Turns a message into a signed POST in the subscriber's format and reports the outcome."""

    def __init__(
        self,
        policy: AddressPolicy,
        timeout: float,
        max_response_bytes: int = 64 * 1024,
        clock: Clock | None = None,
        *,
        connections: int = 256,
        per_host: int = 64,
        keepalive: float = 30.0,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        if connections < 1 or per_host < 1:
            raise ValueError(f"connections and per_host must be >= 1, got {connections} and {per_host}")
        self.policy = policy
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.clock: Clock = clock or SystemClock()
        self.connections = connections
        self.per_host = per_host
        self.keepalive = keepalive
        self._pool = _Pool()
        self._passed: dict[str, URL] = {}  # URLs whose form (and literal address) passed the policy
        self.io = self._pool.io
        # A client dropped without close() (a test, a one-off command) still closes its connections.
        weakref.finalize(self, self._pool.close)

    def __repr__(self) -> str:
        return f"WebhookClient({self.policy!r}, timeout={self.timeout})"

    # --- for threaded callers -----------------------------------------------------------------------

    def send(
        self, url: str, secret: str, message: Message, fmt: Format, *, previous_secret: str | None = None
    ) -> Attempt:
        """Make one attempt to deliver `message` to `url` and wait for it; never raises for network or
        HTTP trouble. `previous_secret`, during a rotation's grace period, adds a second signature."""
        return self.io.run(self.send_async(url, secret, message, fmt, previous_secret=previous_secret))

    def close(self) -> None:
        """Close every pooled connection and stop the loop. Using the client again starts them anew
        (and the finalizer still closes those when the client goes)."""
        self._pool.close()

    # --- on the loop --------------------------------------------------------------------------------

    async def send_async(
        self, url: str, secret: str, message: Message, fmt: Format, *, previous_secret: str | None = None
    ) -> Attempt:
        """`send`, awaited on the client's loop."""
        return await self.post(
            self.prepare(url, secret, message, fmt, at=self.clock.now(), previous_secret=previous_secret)
        )

    def prepare(
        self,
        url: str,
        secret: str,
        message: Message,
        fmt: Format,
        *,
        at: dt.datetime,
        previous_secret: str | None = None,
        body: bytes | None = None,
    ) -> Prepared:
        """Render and sign `message` as sent at `at`, and check the URL's form (CPU only: any thread,
        ahead of time). `body`, when given, is `message` already rendered in `fmt` (a burst of the
        same reminder to many subscribers renders it once)."""
        if body is None:
            body = render_payload(message, fmt)
        target = self._passed.get(url)
        if target is None:
            with contextlib.suppress(UnsafeWebhookURL, ValueError):  # `post` fails it, saying why
                target = self._check(url)
        return Prepared(
            url,
            message.id,
            message.type,
            body,
            self._headers(secret, message.id, at, body, previous_secret),
            at,
            secret,
            previous_secret,
            target,
        )

    @staticmethod
    def _headers(
        secret: str, message_id: str, at: dt.datetime, body: bytes, previous_secret: str | None
    ) -> dict[str, str]:
        # Standard Webhooks: webhook-timestamp is when the attempt is sent (receivers reject stale
        # ones); webhook-id stays the message id on every retry so receivers can deduplicate.
        return sign(secret, message_id, at, body, previous_secret=previous_secret) | _FIXED_HEADERS

    async def post(self, prepared: Prepared) -> Attempt:
        """Send one prepared request now; never raises for network or HTTP trouble."""
        started_at = self.clock.now()
        headers = prepared.headers
        if started_at - prepared.signed_at > RESIGN_AFTER:
            headers = self._headers(
                prepared.secret, prepared.message_id, started_at, prepared.body, prepared.previous_secret
            )
        url = prepared.url
        t0 = time.monotonic()
        status: int | None = None
        retry_after: float | None = None
        outcome: AttemptOutcome
        try:
            target = prepared.target
            if target is None:
                target = self._passed.get(url) or self._check(url)
            session = self._pool.session(self)
            # aiohttp's total timeout covers connecting, sending and reading the body to the end
            async with session.post(target, data=prepared.body, headers=headers, allow_redirects=False) as r:
                status = r.status
                if 200 <= status < 300:  # the common case: the answer's body is only drained
                    outcome, error = "delivered", None
                    if not await self._drain(r):
                        r.close()  # the rest is unread: this connection cannot be reused
                else:
                    retry_after = parse_retry_after(r.headers.get("Retry-After"), started_at)
                    snippet, whole = await self._read_capped(r)
                    if not whole:
                        r.close()
                    outcome, error = _classify(status, r.headers.get("Location"), snippet)
        except UnsafeWebhookURL as exc:
            outcome, error = "failed", str(exc)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            refused = _refusal(exc)
            if refused is not None:
                outcome, error = "failed", str(refused)
            elif isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
                outcome, error = "retry", f"timed out after {self.timeout:g} s"
            elif isinstance(exc, aiohttp.InvalidURL):
                outcome, error = "failed", f"invalid URL: {type(exc).__name__}"
            elif (untrusted := _untrusted_certificate(exc)) is not None:
                # The same certificate fails the same way at every retry: the receiver must change it.
                outcome, error = "failed", untrusted
            else:
                outcome, error = "retry", f"connection failed: {_root_cause(exc)}"
            if status is not None:
                # The status line arrived, then the body stalled or broke: the status is the receiver's
                # answer (a 2xx was accepted; sending again would duplicate), the cut-off is noted.
                outcome = _classify(status, None, "")[0]
                error = f"HTTP {status}; response cut off: {error}"
        latency_ms = (time.monotonic() - t0) * 1000
        attempt = Attempt(
            started_at,
            status,
            round(latency_ms, 1),
            error,
            retry_after if outcome == "retry" else None,
            outcome,
        )
        if log.isEnabledFor(logging.INFO):
            log.info(
                "webhook %s (%s) to %s: %s in %.0f ms%s",
                prepared.message_id,
                prepared.message_type,
                redact_url(url),
                outcome,
                latency_ms,
                f" ({error})" if error else "",
            )
        return attempt

    def _check(self, url: str) -> URL:
        """`url` parsed; raise UnsafeWebhookURL unless its scheme and form are fine and, if its host is
        a literal address, that address is allowed. A URL that passed is remembered (the answer cannot
        change: a name is checked at each connection, by the resolver)."""
        host, port = self.policy.split_url(url)
        if parse_literal(host) is not None:
            # aiohttp does not resolve a literal address, so our resolver never sees it
            self.policy.connect_address(host, port, url)
        target = URL(url)  # as aiohttp would parse the text itself, at every request
        if len(self._passed) >= 100_000:
            self._passed.clear()
        self._passed[url] = target
        return target

    async def _drain(self, response: aiohttp.ClientResponse) -> bool:
        """Read and drop at most max_response_bytes of the body; whether it was all."""
        content = response.content
        left = self.max_response_bytes
        while left > 0 and not content.at_eof():
            chunk = await content.read(min(16384, left))
            if not chunk:
                break
            left -= len(chunk)
        return content.at_eof()

    async def _read_capped(self, response: aiohttp.ClientResponse) -> tuple[str, bool]:
        """A short printable excerpt of at most max_response_bytes of the body, and whether it was all."""
        kept = bytearray()
        while len(kept) < self.max_response_bytes:
            chunk = await response.content.read(min(16384, self.max_response_bytes - len(kept)))
            if not chunk:
                break
            kept += chunk
        whole = response.content.at_eof()
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):  # we asked for identity; the bytes are compressed
            return f"({encoding}-encoded body, {len(kept)} bytes, not shown)", whole
        text = _text_or_none(bytes(kept[:300]))
        if text is None:
            return f"(binary body, {len(kept)} bytes, not shown)", whole
        return "".join(c if c.isprintable() else " " for c in text).strip()[:200], whole


class _Pool:
    """The loop and the aiohttp session a client sends on; closed by `close()` or when the client goes."""

    def __init__(self) -> None:
        self.io = LoopThread("webhook-io")
        self._session: aiohttp.ClientSession | None = None
        self._pid = 0

    def session(self, client: WebhookClient) -> aiohttp.ClientSession:
        """The session (made on first use, on the loop: aiohttp binds it to the running loop). A forked
        child (gunicorn) runs a loop of its own and makes its own session; the parent's is not touched."""
        session = self._session
        if session is None or session.closed or self._pid != os.getpid():
            self._pid = os.getpid()
            connector = aiohttp.TCPConnector(
                resolver=_PolicyResolver(client.policy),
                use_dns_cache=False,  # every new connection is checked (DNS rebinding)
                limit=client.connections,
                limit_per_host=client.per_host,
                keepalive_timeout=client.keepalive,
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # no HTTP(S)_PROXY, NO_PROXY or .netrc from the environment
                auto_decompress=False,
                headers={"User-Agent": USER_AGENT},
                # The whole attempt, body included: a trickled answer cannot hold it longer. Seconds as
                # given (ceil_threshold): aiohttp would round a timeout of 5 s or more up to a whole second.
                timeout=aiohttp.ClientTimeout(total=client.timeout, ceil_threshold=float("inf")),
            )
        return session

    def close(self) -> None:
        session, self._session = self._session, None

        async def closing() -> None:
            if session is not None:
                await session.close()

        if self.io.in_loop():  # dropped on the loop's own thread: cannot wait for it there
            self.io.loop.create_task(closing())
            self.io.loop.call_soon(self.io.loop.stop)
            return
        self.io.stop(closing())


class _PolicyResolver(AbstractResolver):
    """aiohttp's resolver hook: resolve with the policy's resolver, check, answer only the checked address."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        # getaddrinfo blocks: off the loop, so one slow name does not stall every other send
        address = await loop.run_in_executor(None, self._policy.connect_address, host, port, "")
        ip_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": ip_family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


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


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps (cause, context, an exception among its args, aiohttp's os_error)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 10 and current not in seen:
        seen.append(current)
        nested = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        inner = getattr(current, "os_error", None)
        if isinstance(inner, BaseException):
            nested.insert(0, inner)
        current = current.__cause__ or (nested[0] if nested else None) or current.__context__
    return seen


def _text_or_none(raw: bytes) -> str | None:
    """`raw` as UTF-8 text (a character cut at the end is dropped); None when it is not text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(raw) - 3:
            return None
        text = raw[: exc.start].decode("utf-8")
    return None if "\x00" in text else text


def _untrusted_certificate(exc: BaseException) -> str | None:
    """Why the receiver's TLS certificate was not accepted, when that is what failed."""
    # aiohttp's wrapper is a certificate error too, without OpenSSL's reason: the innermost says it.
    failed = [seen for seen in _chain(exc) if isinstance(seen, ssl.SSLCertVerificationError)]
    if not failed:
        return None
    reason = next((m for m in (getattr(e, "verify_message", None) for e in failed) if m), "verify failed")
    return (
        f"the receiver's TLS certificate is not trusted ({reason}) — it needs a certificate from a public "
        "certificate authority for its host name"
    )


def _root_cause(exc: BaseException) -> str:
    """The innermost OS-level reason (e.g. `[Errno 111] Connection refused`), without the URL."""
    chain = _chain(exc)
    for seen in chain:
        if isinstance(seen, ssl.SSLError):
            # Its errno is OpenSSL's code, not the OS's: errno 1 read "Operation not permitted".
            return f"TLS failed ({seen.reason or type(seen).__name__})"
        if isinstance(seen, OSError) and seen.errno:
            # os.strerror, not the exception's text: asyncio's names the address and port
            return f"[Errno {seen.errno}] {os.strerror(seen.errno)}"
    return type(chain[-1]).__name__


def _refusal(exc: BaseException) -> UnsafeWebhookURL | None:
    """The policy refusal behind `exc` (aiohttp wraps errors raised in the resolver)."""
    return next((e for e in _chain(exc) if isinstance(e, UnsafeWebhookURL)), None)


# The source fetcher (adapters/sources) checks addresses and explains failures the same way.
PolicyResolver = _PolicyResolver
root_cause = _root_cause
refusal_behind = _refusal
