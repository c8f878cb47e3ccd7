"""The HTTP server of `trade-calendar serve`: werkzeug's threaded server with timeouts and a clean log.

werkzeug's server keeps each connection, and the thread serving it, for as long as the client keeps it
open: an idle keep-alive connection or a client that stops sending halfway through its headers or body
held a thread for ever. Every socket read here gives up after `READ_TIMEOUT` seconds without a byte
(idle between requests, a stalled request line, headers or body), and the connection is closed.

The access log never shows a credential a client put in the query string (`?token=...` is refused by
the API, but the line was logged before that): values of parameters named like one are replaced.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

READ_TIMEOUT = 30.0  # seconds a connection may stay silent: idle, or stalled mid-request
REDACTED = "REDACTED"
# Query parameter names whose values are credentials, matched anywhere in the (decoded) name.
_SECRET_NAME = re.compile(r"token|secret|passw|api[-_]?key|auth|signature|session|^key$|^sig$", re.I)


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


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler with a socket timeout and a redacted request line in the log."""

    timeout = READ_TIMEOUT  # socketserver applies it to the connection: every read is bounded

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request as werkzeug does, with credentials in the query string replaced."""
        path = getattr(self, "path", None)
        line = getattr(self, "requestline", "")
        if path is not None:
            self.path = redact_target(path)
        self.requestline = " ".join(redact_target(word) for word in line.split(" "))
        try:
            super().log_request(code, size)
        finally:
            if path is not None:
                self.path = path
            self.requestline = line

    def log_error(self, format: str, *args: Any) -> None:
        """Errors ("request timed out", "bad request") quote the request line: redact it there too."""
        cleaned = tuple(redact_target(a) if isinstance(a, str) else a for a in args)
        if format.startswith("Request timed out"):
            # A silent client closed by the read timeout is routine (idle keep-alive), not an error.
            self.log("info", format, *cleaned)
            return
        super().log_error(format, *cleaned)


def make_http_server(host: str, port: int, app: Any, *, read_timeout: float = READ_TIMEOUT) -> BaseWSGIServer:
    """A threaded server for `app` on `host:port` whose connections time out after `read_timeout`."""
    handler = type("RequestHandler", (RequestHandler,), {"timeout": read_timeout})
    return make_server(host, port, app, threaded=True, request_handler=handler)
