"""Which `Host` a request may name, and the one spelling of it the rest of the app sees.

Feed links and the home page's addresses are built from the base URL, else from the request's host, so
a Host is part of what a response says: a malformed one gave `URL:http:/events/…` in the feed, and every
new value forced a render of its own. RFC 9112 §3.2: a request without a Host (in HTTP/1.1) or with an
invalid one is answered 400. Beyond that:

- with `TRADE_CALENDAR_ALLOWED_HOSTS`, a host not listed is answered 400 (health and metrics excepted:
  probes call them by address);
- with `TRADE_CALENDAR_BASE_URL`, the request's host says nothing a response depends on: it is replaced
  by the base URL's, so one render serves every spelling;
- otherwise the host is lower-cased, without a trailing dot or the scheme's default port, so
  `Example.org.:80` and `example.org` share one render.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from calendar_service.adapters.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?$")
_EXEMPT = ("/healthz", "/readyz", "/metrics")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


# Every request names a Host, almost always one of a few; the answer depends on the two strings alone, so
# each pair is worked out once (bounded: a client inventing hosts only evicts its own).
@functools.lru_cache(maxsize=256)
def canonical_host(host: str, scheme: str) -> str | None:
    """`host` in one spelling (lower case, no trailing dot or default port); None when malformed."""
    if len(host) > 255:
        return None
    match = _HOST.match(host)
    if match is None:
        return None
    port = match["port"]
    if port is not None and not 0 < int(port) <= 65535:
        return None
    name = host[: match.start("port") - 1] if port is not None else host
    name = name.lower().rstrip(".")
    return name if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{name}:{port}"


class HostGuard:
    """WSGI middleware: 400 for a missing, malformed or unlisted Host; one spelling for the others."""

    def __init__(self, app: WSGIApplication, settings: Settings) -> None:
        self.app = app
        # Listed as written; a default port is dropped for either scheme, as requests' hosts are.
        spellings = {canonical_host(h, s) for h in settings.allowed_hosts for s in _DEFAULT_PORTS}
        self.allowed = frozenset(h for h in spellings if h)
        base = urlsplit(settings.base_url) if settings.base_url else None
        self.base_host = base.netloc.lower() if base is not None else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Check the Host, then pass the request on with its canonical spelling."""
        raw = environ.get("HTTP_HOST")
        path = environ.get("PATH_INFO", "")
        if raw is None:
            if self.base_host is None:
                return _refuse(start_response, "the request has no Host header — send one (RFC 9112 §3.2)")
            environ["HTTP_HOST"] = self.base_host
            return self.app(environ, start_response)
        host = canonical_host(raw, environ.get("wsgi.url_scheme", "http"))
        if host is None:
            shown = raw[:80].encode("ascii", "backslashreplace").decode()
            return _refuse(start_response, f"the Host header {shown!r} is not a host name or address")
        if self.allowed and host not in self.allowed and path not in _EXEMPT:
            return _refuse(start_response, f"this service does not answer for {host!r}")
        environ["HTTP_HOST"] = self.base_host or host
        return self.app(environ, start_response)


def _refuse(start_response: StartResponse, detail: str) -> Iterable[bytes]:
    body = json.dumps({"type": "about:blank", "title": "Bad Host", "status": 400, "detail": detail}).encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))],
    )
    return [body]
