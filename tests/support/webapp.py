"""A web app on test data served for real: the sample calendar, a loopback server, the render count."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from calendar_service.web.extension import services, web_parts
from tests.support.paths import TESTS_DATA
from tests.support.polling import poll

# Two events beyond tests/data/small.yaml: a live deadline ahead of the clock fixture (10 June 2025)
# that was moved once, and a tagged, scoped tariff action.
EXTRA_EVENTS = """
  - id: tariff-hike
    title: Reciprocal tariff increase takes effect
    kind: tariff
    status: scheduled
    importance: high
    countries: [US, CN]
    tags: [reciprocal]
    authority: IEEPA
    hs: ["85"]
    date: 2025-07-09
    time: "00:01"
    tz: America/New_York
    history:
      - changed: 2025-06-05
        kind: rescheduled
        was: {date: 2025-07-01, time: "00:01", tz: America/New_York}
        note: Pushed back a week
    sources: [{title: EO 14299, url: "https://example.com/b"}]
  - id: eu-hearing
    title: EU safeguard hearing
    kind: hearing
    countries: [EU]
    date: 2025-06-20
    sources: [{title: OJ notice}]
"""


def sample_yaml() -> str:
    """The sample calendar used by the web tests."""
    return (TESTS_DATA / "small.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n" + EXTRA_EVENTS


@dataclass
class LiveServer:
    """A running server: its base URL and the app behind it."""

    url: str
    app: Flask
    server: BaseWSGIServer

    def get(self, path: str, **kwargs: object) -> requests.Response:
        """GET `path` from the server (no redirects followed)."""
        return requests.get(self.url + path, allow_redirects=False, timeout=10, **kwargs)  # type: ignore[arg-type]


def reloaded(app: Flask) -> None:
    """Have `app` look at its data file now and return once it has (served, or refused and reported).

    No request waits for a reload (adapters/live.py): a request after an edit is answered from the
    version before while a background thread reloads. A test that edits the file and then reads what
    it expects of the new version first has the edit looked at, as the reload thread would.
    """
    services(app).live.check()


def health_when(server: LiveServer, what: str, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Ask the server's /healthz until `condition(health)` holds (bounded) and return that answer.

    Every ask is a request, and a request only ever starts a background reload: this is how a client
    sees an edit arrive.
    """

    def probe() -> dict[str, Any] | None:
        health: dict[str, Any] = server.get("/healthz").json()
        return health if condition(health) else None

    return poll(what, probe)


def new_version_served(server: LiveServer, before: str) -> str:
    """Wait (bounded) until the server serves a data version other than `before`; return it."""
    health = health_when(server, "the edit to be served", lambda h: h["data_version"] != before)
    return str(health["data_version"])


def run_server(app: Flask) -> tuple[BaseWSGIServer, threading.Thread]:
    """Serve `app` on a free loopback port in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # The loop looks at its stop flag every poll_interval: 0.5 s by default, which each test's
    # shutdown then waits out (half a second per server, a minute over the suite).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    return server, thread


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` on a free loopback port for the block; its base URL."""
    server, thread = run_server(app)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def render_count(app: Flask) -> float:
    """How many feeds `app` has rendered (the render-time histogram's count)."""
    for metric in web_parts(app).metrics.renders.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                return float(sample.value)
    return 0.0
