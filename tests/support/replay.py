"""A loopback HTTP server that replays pages and feeds, as the official sources would answer.

    with ReplayServer() as site:
        site.page("/notice", Page(b"<html>...</html>", etag='"v1"'))   # 304 when If-None-Match matches
        site.page("/robots.txt", Page(b"User-agent: *\\nDisallow: /private", content_type="text/plain"))
        ...fetch site.url("/notice")...
        site.hits("/notice"), site.requests[-1].headers, site.peak   # what arrived; most at once

Plays: a page that changes (`page()` again), 304, 404/410, a redirect (`Page(status=302,
headers={"Location": ...})`), a slow answer (`delay`), a large or endless body (`stream` chunks), a
gzip bomb (`gzip_bomb()`); and what `sources check --record DIR` kept (`load(DIR)`). Handler threads
are daemons and delays wake on `stop()`.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Page:
    """One scripted answer."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    stream: tuple[bytes, int] | None = None  # (chunk, count): send chunk count times (large bodies)


@dataclass(frozen=True)
class Seen:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about 1,000 to 1)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as file:
        block = b"\0" * 1_000_000
        for _ in range(size // len(block)):
            file.write(block)
    return out.getvalue()


class ReplayServer:
    """A threaded HTTP server on a free loopback port serving scripted pages by path (query ignored
    unless a page is registered with its query)."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[Seen] = []
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # A short poll_interval: `stop` waits for the loop to look at its flag (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and wake any delayed answer."""
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def page(self, path: str, page: Page) -> None:
        """Serve `page` at `path` from now on."""
        with self._lock:
            self.pages[path] = page

    def load(self, folder: Path) -> int:
        """Serve the answers `sources check --record DIR` kept (by path and query); return how many."""
        count = 0
        for line in (folder / "index.jsonl").read_text(encoding="utf-8").splitlines():
            meta = json.loads(line)
            parts = urlsplit(meta["url"])
            headers = dict(meta["headers"])
            page = Page(
                (folder / meta["body"]).read_bytes(),
                status=meta["status"],
                content_type=headers.pop("Content-Type", "application/octet-stream"),
                etag=headers.pop("ETag", None),
                last_modified=headers.pop("Last-Modified", None),
                headers=headers,
            )
            self.page(parts.path + (f"?{parts.query}" if parts.query else ""), page)
            count += 1
        return count

    def hits(self, path: str) -> int:
        """How many requests asked for `path` (query ignored)."""
        return sum(1 for seen in self.requests if seen.path.split("?")[0] == path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                    page = server.pages.get(self.path) or server.pages.get(self.path.split("?")[0])
                try:
                    self._answer(page)
                finally:
                    with server._lock:
                        server.active -= 1

            def _answer(self, page: Page | None) -> None:
                if page is None:
                    page = Page(b"not found", status=404, content_type="text/plain")
                if page.delay and server._stop.wait(page.delay):
                    return
                if page.etag and self.headers.get("If-None-Match") == page.etag:
                    self.send_response(304)
                    self.send_header("ETag", page.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                if page.etag:
                    self.send_header("ETag", page.etag)
                if page.last_modified:
                    self.send_header("Last-Modified", page.last_modified)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                if page.stream is not None:
                    chunk, count = page.stream
                    self.send_header("Content-Length", str(len(chunk) * count))
                    self.end_headers()
                    try:
                        for _ in range(count):
                            if server._stop.is_set():
                                return
                            self.wfile.write(chunk)
                    except OSError:
                        return  # the client stopped reading: that is the point
                    return
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                try:
                    self.wfile.write(page.body)
                except OSError:
                    return

        return Handler


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    """Poll `predicate` until true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def pages(n: int) -> Iterator[str]:
    """`n` distinct paths."""
    return (f"/p/{i}" for i in range(n))
