"""The Host header: malformed or missing is 400, unlisted is 400 with ALLOWED_HOSTS, and never a render each.

On main a malformed Host (or none) gave `URL:http:/events/…` in the feed, and with no base URL every new
Host value forced a render of the feed (500 Hosts, 501 renders).
"""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from calendar_service.web.hosts import canonical_host
from tests.support.webapp import render_count


def _app(settings: Settings, clock: SettableClock, **changes: object) -> Flask:
    return create_app(Settings.from_env({}, **{**settings.__dict__, **changes}), clock=clock)


@pytest.mark.parametrize(
    "host", ["exa mple.org", "a/b", "example.org:99999", "", "example.org:x", "[zz::1]", "ex\x1bample.org"]
)
def test_a_malformed_host_is_a_400(app: Flask, host: str) -> None:
    answer = app.test_client().get("/calendar.ics", headers={"Host": host})
    assert answer.status_code == 400
    assert answer.content_type == "application/problem+json"
    assert b"Host" in answer.data


def _status_without_host(app: Flask) -> tuple[str, bytes]:
    environ = EnvironBuilder(path="/calendar.ics").get_environ()
    del environ["HTTP_HOST"]  # an HTTP/1.0 request may carry none
    seen: list[str] = []
    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], body


def test_no_host_is_a_400_without_a_base_url(app: Flask) -> None:
    status, _ = _status_without_host(app)
    assert status.startswith("400")


def test_no_host_uses_the_base_url_when_there_is_one(settings: Settings, clock: SettableClock) -> None:
    status, body = _status_without_host(_app(settings, clock, base_url="https://cal.example.org"))
    assert status.startswith("200")
    assert b"URL:https://cal.example.org/events/" in body


def test_with_a_base_url_new_hosts_never_force_a_render(settings: Settings, clock: SettableClock) -> None:
    app = _app(settings, clock, base_url="https://cal.example.org")
    client = app.test_client()
    bodies = {client.get("/calendar.ics", headers={"Host": f"h{i}.example.net"}).data for i in range(200)}
    assert len(bodies) == 1
    assert render_count(app) == 1


def test_spellings_of_one_host_share_one_render(app: Flask) -> None:
    client = app.test_client()
    hosts = ["Example.org", "example.org.", "example.org:80", "EXAMPLE.ORG"]
    bodies = {client.get("/calendar.ics", headers={"Host": host}).data for host in hosts}
    assert len(bodies) == 1
    assert b"URL:http://example.org/events/" in bodies.pop()
    assert render_count(app) == 1


def test_allowed_hosts_refuse_the_others(settings: Settings, clock: SettableClock) -> None:
    app = _app(settings, clock, allowed_hosts=("cal.example.org", "localhost:8080"))
    client = app.test_client()
    assert client.get("/calendar.ics", headers={"Host": "cal.example.org"}).status_code == 200
    assert client.get("/calendar.ics", headers={"Host": "CAL.example.org:80"}).status_code == 200
    assert client.get("/", headers={"Host": "localhost:8080"}).status_code == 200
    refused = client.get("/calendar.ics", headers={"Host": "evil.example.net"})
    assert refused.status_code == 400
    assert "evil.example.net" in refused.get_json()["detail"]
    # Probes call the process by address: health and metrics answer whatever the Host.
    assert client.get("/readyz", headers={"Host": "10.0.0.7:8080"}).status_code == 200
    assert render_count(app) == 1


def test_allowed_hosts_setting_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"TRADE_CALENDAR_ALLOWED_HOSTS": "Cal.Example.org, localhost:8080"})
    assert settings.allowed_hosts == ("cal.example.org", "localhost:8080")


@pytest.mark.parametrize(
    ("host", "scheme", "canonical"),
    [
        ("Example.ORG.", "http", "example.org"),
        ("example.org:443", "https", "example.org"),
        ("example.org:443", "http", "example.org:443"),
        ("[::1]:8080", "http", "[::1]:8080"),
        ("127.0.0.1", "http", "127.0.0.1"),
        ("a" * 300, "http", None),
    ],
)
def test_canonical_host(host: str, scheme: str, canonical: str | None) -> None:
    assert canonical_host(host, scheme) == canonical
