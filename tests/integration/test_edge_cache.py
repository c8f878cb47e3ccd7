"""The real nginx with deploy/nginx.conf (rendered by bench/edge.py) in front of the live app.

Checks what the edge cache promises: the feed passes through byte-identical with the app's strong
ETag and the links built from the client's Host; nginx itself answers If-None-Match with 304 from the
cached entry; after a data edit the old ETag stops getting 304 once the validity window (1 s here, plus
nginx's one-second clock) is over; and nothing else — subscriptions API, credentials — is cached.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from werkzeug.serving import make_server

from bench.edge import NGINX, start_edge, stop_edge
from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from tests.support.ics import edit, prop, vevent
from tests.support.polling import poll
from tests.support.processes import free_port

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(
        shutil.which(NGINX) is None, reason=f"needs nginx at {NGINX} (apt-get install nginx-light)"
    ),
]

VALIDITY = 1  # seconds, rendered into proxy_cache_valid for this test
TOKEN = "edge-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOOK = "https://93.184.215.14/hook"  # a public literal: no DNS needed


@dataclass
class Counting:
    """WSGI middleware recording every request that reaches the app: (method, path, If-None-Match)."""

    app: WSGIApplication
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self.lock:
            self.seen.append(
                (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("HTTP_IF_NONE_MATCH"))
            )
        return self.app(environ, start_response)

    def last(self) -> tuple[str, str, str | None]:
        with self.lock:
            return self.seen[-1]

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.seen if (m, p) == (method, path))


@dataclass
class Edge:
    url: str  # nginx
    app_url: str  # the app directly
    host: str  # the Host clients of the edge send
    counting: Counting

    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.get(self.url + path, headers=headers or {}, allow_redirects=False, timeout=10)

    def direct(self, path: str) -> requests.Response:
        """The app's own answer to the request the edge forwards (same Host)."""
        return requests.get(self.app_url + path, headers={"Host": self.host}, timeout=10)


@pytest.fixture
def edge(tmp_path: Path, data_file: Path, clock: SettableClock) -> Iterator[Edge]:
    settings = Settings.from_env(
        {},
        data_path=data_file,
        state_dir=tmp_path / "state",
        reload_interval=0.001,
        reload_settle=0,  # the edit below is in place, and the app must have it at once
        base_url="",
        admin_tokens=(TOKEN,),
    )
    counting = Counting(create_app(settings, clock=clock))
    server = make_server("127.0.0.1", 0, counting, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="edge-app", daemon=True)
    thread.start()
    port = free_port()
    try:
        nginx = start_edge(tmp_path / "nginx", port, server.server_port, cache_valid=f"{VALIDITY}s")
    except BaseException:
        server.shutdown()
        server.server_close()
        raise
    try:
        yield Edge(
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{server.server_port}",
            f"127.0.0.1:{port}",
            counting,
        )
    finally:
        stop_edge(nginx)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_feed_passes_through_and_nginx_answers_304_itself(edge: Edge) -> None:
    first = edge.get("/calendar.ics?country=CN")
    direct = edge.direct("/calendar.ics?country=CN")
    assert first.status_code == 200
    assert first.headers["X-Cache-Status"] == "MISS"
    assert first.content == direct.content  # byte-identical
    assert first.headers["ETag"] == direct.headers["ETag"]
    assert first.headers["ETag"].startswith('"')  # still strong: nothing rewrote it
    assert first.headers["Last-Modified"] == direct.headers["Last-Modified"]
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert first.headers["Cache-Control"] == "public, no-cache"  # clients still revalidate every poll
    assert "Content-Encoding" not in first.headers  # requests asked for gzip; never for a feed
    # The Host reached the app: the feed's own address is the edge's.
    assert f"SOURCE;VALUE=URI:http://{edge.host}/calendar.ics?country=CN" in first.text

    reached = edge.counting.count("GET", "/calendar.ics")
    etag = first.headers["ETag"]
    again = edge.get("/calendar.ics?country=CN")
    assert (again.status_code, again.headers["X-Cache-Status"]) == (200, "HIT")
    assert again.content == first.content
    conditional = edge.get("/calendar.ics?country=CN", {"If-None-Match": etag})
    assert conditional.status_code == 304
    assert conditional.content == b""
    assert conditional.headers["ETag"] == etag
    assert conditional.headers["X-Cache-Status"] == "HIT"
    since = edge.get("/calendar.ics?country=CN", {"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    wrong = edge.get("/calendar.ics?country=CN", {"If-None-Match": '"not-the-etag"'})
    assert (wrong.status_code, wrong.content) == (200, first.content)
    assert edge.counting.count("GET", "/calendar.ics") == reached  # all of these were nginx's

    # The query string is part of the key: another filter is another entry, rendered by the app.
    other = edge.get("/calendar.ics")
    assert other.headers["X-Cache-Status"] == "MISS"
    assert other.headers["ETag"] != etag
    assert edge.counting.count("GET", "/calendar.ics") == reached + 1


def test_an_expired_entry_is_revalidated_upstream_with_its_etag(edge: Edge) -> None:
    etag = edge.get("/calendar.ics").headers["ETag"]
    assert edge.counting.last() == ("GET", "/calendar.ics", None)  # a miss asks unconditionally
    deadline = time.monotonic() + VALIDITY + 5
    while (response := edge.get("/calendar.ics", {"If-None-Match": etag})).headers["X-Cache-Status"] == "HIT":
        assert response.status_code == 304
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # Unchanged data: nginx asked the app with the cached ETag, got a 304 and answered the client's.
    assert (response.status_code, response.headers["X-Cache-Status"]) == (304, "REVALIDATED")
    assert edge.counting.last() == ("GET", "/calendar.ics", etag)


def test_an_edit_is_served_once_the_validity_window_is_over(
    edge: Edge, data_file: Path, clock: SettableClock
) -> None:
    first = edge.get("/calendar.ics")
    old_etag = first.headers["ETag"]
    assert "T104000" in prop(vevent(first.text, "london"), "DTSTART")
    assert edge.get("/calendar.ics", {"If-None-Match": old_etag}).status_code == 304

    clock.advance(dt.timedelta(hours=1))
    edit(data_file, "time: 10:40", "time: 11:40")
    # The app reloads in the background; the bound below runs from when it serves the edit.
    current = poll("the app to serve the edit", lambda: _if_changed(edge.direct("/calendar.ics"), old_etag))
    edited = time.monotonic()

    # Within the window the old copy may still be confirmed; after it, never. nginx keeps whole seconds,
    # so an entry stored at t is fresh up to t + VALIDITY + 1 s; allow half a second for scheduling.
    bound = VALIDITY + 1 + 0.5
    deadline = edited + bound + 5
    while True:
        # Timed when sent: nginx answers no earlier, so a slow reply on a busy machine is not blamed on it.
        waited = time.monotonic() - edited
        response = edge.get("/calendar.ics", {"If-None-Match": old_etag})
        if response.status_code == 200:
            break
        assert response.status_code == 304
        assert waited <= bound, f"nginx still confirmed the old ETag {waited:.1f} s after the edit"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert response.content == current.content
    assert response.headers["ETag"] == current.headers["ETag"]
    assert "T114000" in prop(vevent(response.text, "london"), "DTSTART")
    # From now on the old ETag gets the new body and the new one a 304, from the cache.
    assert edge.get("/calendar.ics", {"If-None-Match": old_etag}).status_code == 200
    fresh = edge.get("/calendar.ics", {"If-None-Match": current.headers["ETag"]})
    assert (fresh.status_code, fresh.headers["X-Cache-Status"]) == (304, "HIT")


def test_subscriptions_api_and_credentials_are_never_cached(edge: Edge) -> None:
    created = [
        requests.post(f"{edge.url}/api/v1/subscriptions", json={"url": HOOK}, headers=AUTH, timeout=10)
        for _ in range(2)
    ]
    assert [response.status_code for response in created] == [201, 201]
    assert created[0].json()["id"] != created[1].json()["id"]
    assert edge.counting.count("POST", "/api/v1/subscriptions") == 2
    assert "X-Cache-Status" not in created[0].headers

    for _ in range(2):
        listed = edge.get("/api/v1/subscriptions", AUTH)
        assert listed.status_code == 200
        assert len(listed.json()["subscriptions"]) == 2
    assert edge.counting.count("GET", "/api/v1/subscriptions") == 2

    for path in ("/healthz", "/readyz", "/metrics"):
        for _ in range(2):
            assert edge.get(path).status_code == 200
        assert edge.counting.count("GET", path) == 2, path

    # A feed request with credentials goes to the app and is not stored.
    before = edge.counting.count("GET", "/calendar.ics")
    for _ in range(2):
        response = edge.get("/calendar.ics?kind=tariff", AUTH)
        assert (response.status_code, response.headers["X-Cache-Status"]) == (200, "BYPASS")
    assert edge.counting.count("GET", "/calendar.ics") == before + 2
    assert edge.get("/calendar.ics?kind=tariff").headers["X-Cache-Status"] == "MISS"


def _if_changed(response: requests.Response, etag: str) -> requests.Response | None:
    return response if response.headers["ETag"] != etag else None
