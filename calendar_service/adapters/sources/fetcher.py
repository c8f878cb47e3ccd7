"""A polite, bounded HTTP reader for official sources: the pages events cite and the feeds we watch.

Polite: conditional GETs (`If-None-Match`, `If-Modified-Since`, RFC 9110 §13.1), at most `per_host`
requests to one host at once and `min_delay` seconds between two starts to it, a `User-Agent` naming the
service and the calendar's contact, and robots.txt honoured (RFC 9309; read once per host and run:
4xx means "no rules", 5xx or unreachable means "disallow everything" for now, §2.3.1.3–4).

Bounded: aiohttp's total timeout covers connect, headers and body; at most `max_bytes` are read, and a
compressed body is inflated by us in steps with a cap on the output (`auto_decompress=False`), so a
gzip bomb costs `max_bytes` of memory, not gigabytes. Redirects are followed by hand, at most
`MAX_REDIRECTS`, each hop checked like the first.

Safe: the webhook client's `AddressPolicy` checks every address connected to (its resolver hook pins the
connection to the checked address; literal addresses are checked before the request), so a curated URL
or a redirect that leads into our network or to cloud metadata is refused. Proxy settings from the
environment are ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import urllib.robotparser
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp

from calendar_service.adapters.sources.record import Recorder
from calendar_service.adapters.webhooks.client import PolicyResolver, refusal_behind, root_cause
from calendar_service.adapters.webhooks.security import AddressPolicy, parse_literal, redact_url
from calendar_service.core.errors import UnsafeWebhookURL

MAX_REDIRECTS = 5
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 §2.5: crawlers must read at least 500 KiB of it
PRODUCT = "trade-calendar-sources/1"


def user_agent(contact: str | None) -> str:
    """`trade-calendar-sources/1 (+contact)`: who is reading, and how to reach them."""
    return f"{PRODUCT} (+{contact})" if contact else PRODUCT


@dataclass(frozen=True)
class Validators:
    """What the last answer said to send back on the next request (for a 304)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Response:
    """One fetched URL: its final answer, or why there is none.

    kind: "ok" (2xx with a body), "not-modified" (304), "gone" (404/410), "failed" (anything else).
    """

    url: str
    kind: str
    status: int | None = None
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    final_url: str = ""
    error: str | None = None
    network: bool = False  # the failure was DNS, a refused connection or a timeout

    @property
    def body_hash(self) -> str:
        """SHA-256 of the body as read (after inflating)."""
        return hashlib.sha256(self.body).hexdigest()


class _TooLarge(Exception):
    """The body is larger than allowed (after inflating)."""


@dataclass
class _Host:
    """One host's gate: how many requests run, when the next may start, its robots.txt rules."""

    slots: asyncio.Semaphore
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    robots: urllib.robotparser.RobotFileParser | None = None
    robots_error: str | None = None
    robots_done: bool = False


class PoliteFetcher:
    """Fetch many URLs at once within per-host limits; use inside one `async with` (one event loop)."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        contact: str | None = None,
        per_host: int = 2,
        min_delay: float = 1.0,
        timeout: float = 20.0,
        max_bytes: int = 5_000_000,
        connections: int = 100,
        robots: bool = True,
        recorder: Recorder | None = None,
    ) -> None:
        if per_host < 1 or connections < 1 or timeout <= 0 or max_bytes < 1 or min_delay < 0:
            raise ValueError("per_host, connections, timeout and max_bytes must be positive")
        self.policy = policy
        self.agent = user_agent(contact)
        self.per_host = per_host
        self.min_delay = min_delay
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.connections = connections
        self.robots = robots
        self.recorder = recorder
        self._hosts: dict[str, _Host] = {}
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # HTTP requests made (robots.txt included), for tests and the bench

    async def __aenter__(self) -> PoliteFetcher:
        connector = aiohttp.TCPConnector(
            resolver=PolicyResolver(self.policy),
            use_dns_cache=False,  # every new connection is checked (DNS rebinding)
            limit=self.connections,
            limit_per_host=self.per_host,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            auto_decompress=False,  # inflated by `_read` with a cap on the output
            headers={"User-Agent": self.agent, "Accept-Encoding": "gzip, deflate"},
            timeout=aiohttp.ClientTimeout(total=self.timeout, ceil_threshold=float("inf")),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch_all(self, items: Sequence[tuple[str, Validators | None]]) -> list[Response]:
        """Fetch every (url, validators) at once, within the limits; answers in the same order."""
        return list(await asyncio.gather(*(self.fetch(url, v) for url, v in items)))

    async def fetch(self, url: str, validators: Validators | None = None) -> Response:
        """GET `url` (conditionally, given `validators`), following redirects; never raises."""
        current = url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                host = self._check(current)
                refused = await self._robots_refusal(host, current)
                if refused:
                    return Response(url, "failed", error=refused, final_url=current)
                answer = await self._get(host, current, validators if current == url else None)
                if isinstance(answer, Response):
                    return _with_url(answer, url)
                current = urljoin(current, answer)
            return Response(url, "failed", error=f"more than {MAX_REDIRECTS} redirects", final_url=current)
        except UnsafeWebhookURL as exc:
            return Response(url, "failed", error=f"refused: {exc.reason}", final_url=current)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            refused_by = refusal_behind(exc)
            if refused_by is not None:
                return Response(url, "failed", error=f"refused: {refused_by.reason}", final_url=current)
            if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
                error = f"timed out after {self.timeout:g} s"
            else:
                error = f"connection failed: {root_cause(exc)}"
            return Response(url, "failed", error=error, final_url=current, network=True)

    def _check(self, url: str) -> str:
        """The URL's host key; UnsafeWebhookURL for a bad form or a refused literal address."""
        host, port = self.policy.split_url(url)
        if parse_literal(host) is not None:  # aiohttp does not resolve a literal: check it here
            self.policy.connect_address(host, port, url)
        return f"{urlsplit(url).scheme}://{host}:{port}"

    def _host(self, key: str) -> _Host:
        gate = self._hosts.get(key)
        if gate is None:
            gate = self._hosts[key] = _Host(asyncio.Semaphore(self.per_host))
        return gate

    async def _get(self, key: str, url: str, validators: Validators | None) -> Response | str:
        """One request: a Response, or the Location to follow."""
        assert self._session is not None, "use the fetcher inside `async with`"
        headers: dict[str, str] = {}
        if validators is not None and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        gate = self._host(key)
        async with gate.slots:
            await self._wait_turn(gate)
            self.requests += 1
            async with self._session.get(url, headers=headers, allow_redirects=False) as r:
                status = r.status
                if status in (301, 302, 303, 307, 308) and r.headers.get("Location"):
                    return r.headers["Location"]

                def answer(kind: str, error: str | None = None, body: bytes = b"") -> Response:
                    return Response(
                        url,
                        kind,
                        status,
                        body,
                        r.headers.get("Content-Type", ""),
                        r.headers.get("ETag"),
                        r.headers.get("Last-Modified"),
                        url,
                        error,
                    )

                if status == 304:
                    return answer("not-modified")
                if status in (404, 410):
                    return answer("gone", f"HTTP {status}")
                if not 200 <= status < 300:
                    return answer("failed", f"HTTP {status}")
                try:
                    body = await self._read(r)
                except _TooLarge:
                    r.close()  # the rest is unread: this connection cannot be reused
                    return answer("failed", f"larger than {self.max_bytes:,} bytes; not read")
                except zlib.error as exc:
                    r.close()
                    return answer("failed", f"bad compressed body ({exc})")
                if self.recorder is not None:
                    self.recorder.save(url, status, dict(r.headers), body)
                return answer("ok", body=body)

    async def _wait_turn(self, gate: _Host) -> None:
        """Keep `min_delay` seconds between two request starts to one host."""
        if self.min_delay <= 0:
            return
        async with gate.lock:
            now = time.monotonic()
            wait = gate.next_start - now
            gate.next_start = max(now, gate.next_start) + self.min_delay
        if wait > 0:
            await asyncio.sleep(wait)

    async def _read(self, response: aiohttp.ClientResponse, limit: int | None = None) -> bytes:
        """The body, inflated if gzip/deflate, at most `limit` (default max_bytes) bytes, else _TooLarge."""
        cap = limit or self.max_bytes
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        inflate = None
        if encoding in ("gzip", "x-gzip", "deflate"):
            inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # 32: gzip or zlib header, detected
        elif encoding not in ("", "identity"):
            raise zlib.error(f"unsupported Content-Encoding {encoding!r}")
        kept = bytearray()
        read = 0
        while True:
            chunk = await response.content.read(65536)
            if not chunk:
                break
            read += len(chunk)
            if read > cap:
                raise _TooLarge
            if inflate is None:
                kept += chunk
            else:
                data = chunk
                while data:
                    # max_length bounds what one step may produce: a bomb stops at the cap
                    kept += inflate.decompress(data, cap + 1 - len(kept))
                    if len(kept) > cap:
                        raise _TooLarge
                    data = inflate.unconsumed_tail
            if len(kept) > cap:
                raise _TooLarge
        return bytes(kept)

    async def _robots_refusal(self, key: str, url: str) -> str | None:
        """Why robots.txt forbids `url`, or None."""
        if not self.robots:
            return None
        gate = self._host(key)
        if not gate.robots_done:
            async with gate.lock:
                if not gate.robots_done:
                    await self._load_robots(gate, key)
                    gate.robots_done = True
        if gate.robots_error:
            return gate.robots_error
        if gate.robots is not None and not gate.robots.can_fetch(PRODUCT.split("/")[0], url):
            return f"robots.txt of {redact_url(url)} disallows it; not read"
        return None

    async def _load_robots(self, gate: _Host, key: str) -> None:
        assert self._session is not None
        url = f"{key}/robots.txt"
        try:
            async with gate.slots:
                self.requests += 1
                async with self._session.get(url, allow_redirects=False) as r:
                    if 400 <= r.status < 500 or 300 <= r.status < 400:
                        return  # RFC 9309 §2.3.1.3: unavailable, no rules (a redirect: not followed)
                    if r.status >= 500:
                        gate.robots_error = f"robots.txt answered HTTP {r.status}; retried next run"
                        return
                    body = await self._read(r, ROBOTS_MAX_BYTES)
        except _TooLarge:
            return  # rules past 500 KiB are ignored; what we cannot read is no rule
        except (TimeoutError, aiohttp.ClientError, OSError, zlib.error) as exc:
            refused_by = refusal_behind(exc)
            reason = f"refused: {refused_by.reason}" if refused_by else root_cause(exc)
            gate.robots_error = f"robots.txt unreachable ({reason}); retried next run"
            return
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(body.decode("utf-8", "replace").splitlines())
        gate.robots = parser


def _with_url(response: Response, url: str) -> Response:
    """The answer under the URL asked for (a redirect's final URL is kept in `final_url`)."""
    if response.url == url:
        return response
    return Response(
        url,
        response.kind,
        response.status,
        response.body,
        response.content_type,
        response.etag,
        response.last_modified,
        response.final_url,
        response.error,
        response.network,
    )
