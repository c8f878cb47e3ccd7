"""gzip for pages, JSON and Atom, as WSGI middleware in front of everything else (the feed fast path too).

A compressed body is a different representation, so it never shares a strong ETag with the plain one
(RFC 9110 §8.8.3): `"abc"` becomes `"abc-gzip"`. A client that revalidates the gzip copy sends
`If-None-Match: "abc-gzip"`; the suffix is taken off before the app compares, and the 304 names the
tag the client holds. Every compressible answer says `Vary: Accept-Encoding`.

Calendar files (`text/calendar`) are sent as they are: Outlook on the web fails on gzip'd calendar
feeds, which is also why the nginx edge compresses nothing (deploy/nginx.conf).

Compressed bodies are kept in a small cache keyed by a hash of the plain body, so a page or a JSON
answer served many times is compressed once.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SUFFIX = "-gzip"
MIN_SIZE = 1024  # smaller bodies gain too little to pay for the header and the work
LEVEL = 6
COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/problem+json",
        "application/atom+xml",
        "application/xml",
        "image/svg+xml",
    }
)
STATUSES = frozenset({200, 203, 404, 410})
CACHE_ENTRIES = 256
CACHE_BYTES = 32 * 1024 * 1024


# Clients send a handful of spellings ("gzip, deflate, br"); parsing one costs more than the rest of a
# 304, so each is parsed once. Bounded: a client inventing values only evicts its own.
@functools.lru_cache(maxsize=256)
def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (`gzip;q=0` refuses it; `*` allows it)."""
    accepted = parse_accept_header(header, MIMEAccept)
    for value, quality in accepted:
        if value.lower() in {"gzip", "x-gzip"}:
            return quality > 0
    return any(value == "*" and quality > 0 for value, quality in accepted)


def _gzip_tag(tag: str) -> str:
    """`"abc"` → `"abc-gzip"`, `W/"abc"` → `W/"abc-gzip"`."""
    return tag[:-1] + SUFFIX + '"' if tag.endswith('"') else tag


def _plain_tags(header: str) -> tuple[str, bool]:
    """If-None-Match with every `-gzip` tag turned back into the app's own; and whether any was."""
    if SUFFIX not in header:
        return header, False
    parts = [part.strip() for part in header.split(",")]
    changed = False
    out = []
    for part in parts:
        if part.endswith(SUFFIX + '"'):
            part = part[: -len(SUFFIX) - 1] + '"'
            changed = True
        out.append(part)
    return ", ".join(out), changed


class Compression:
    """WSGI middleware: gzip compressible answers for clients that accept it, with their own ETags."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer through the wrapped app, compressing its body when that is allowed and worth it."""
        if environ.get("REQUEST_METHOD") != "GET" or not accepts_gzip(
            environ.get("HTTP_ACCEPT_ENCODING", "")
        ):
            return self._plain(environ, start_response)
        held_gzip = False
        if "HTTP_IF_NONE_MATCH" in environ:
            environ["HTTP_IF_NONE_MATCH"], held_gzip = _plain_tags(environ["HTTP_IF_NONE_MATCH"])
        captured: dict[str, object] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None  # the write() callable: unused by Flask and the fast path

        result = self.app(environ, capture)  # type: ignore[arg-type]
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        status = str(captured["status"])
        headers: list[tuple[str, str]] = list(captured["headers"])  # type: ignore[call-overload]
        if status.startswith("304"):
            if held_gzip:  # the client holds the gzip copy: name that tag, not the plain one
                headers = [(n, _gzip_tag(v) if n.lower() == "etag" else v) for n, v in headers]
            start_response(status, _vary(headers))
            return [body]
        code = int(status.split(" ", 1)[0])
        names = {name.lower(): value for name, value in headers}
        kind = names.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind not in COMPRESSIBLE:
            start_response(status, headers)
            return [body]
        if code not in STATUSES or "content-encoding" in names or len(body) < MIN_SIZE:
            start_response(status, _vary(headers))
            return [body]
        packed = self._compressed(body)
        out = []
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length":
                continue
            out.append((name, _gzip_tag(value) if lower == "etag" else value))
        out.extend((("Content-Encoding", "gzip"), ("Content-Length", str(len(packed)))))
        start_response(status, _vary(out))
        return [packed]

    def _plain(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def with_vary(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            kind = next((v for n, v in headers if n.lower() == "content-type"), "").split(";", 1)[0]
            return start_response(status, _vary(headers) if kind.strip().lower() in COMPRESSIBLE else headers)

        return self.app(environ, with_vary)  # type: ignore[arg-type]

    def _compressed(self, body: bytes) -> bytes:
        """The body gzip'd (mtime 0: the same bytes every time), from the cache when it was seen before.

        Keyed by a hash of the body itself, not its ETag: hashing is a twentieth of the cost of
        compressing, and the key then cannot be shared by two bodies however an endpoint makes ETags.
        """
        key = hashlib.blake2b(body, digest_size=16).digest()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        packed = gzip.compress(body, LEVEL, mtime=0)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = packed
                self._cached_bytes += len(packed)
            while len(self._cache) > CACHE_ENTRIES or self._cached_bytes > CACHE_BYTES:
                _, dropped = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)
        return packed


def _vary(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers with Accept-Encoding named in Vary (added once)."""
    for i, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            if "accept-encoding" in value.lower():
                return headers
            return [*headers[:i], (name, f"{value}, Accept-Encoding"), *headers[i + 1 :]]
    return [*headers, ("Vary", "Accept-Encoding")]
