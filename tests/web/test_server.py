"""The one-process server: idle, stalled and trickling connections are closed; tokens never logged."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from calendar_service.web.server import HTTPServer, ServerLimits, make_http_server, redact_target

READ_TIMEOUT = 1.0
LIMITS = ServerLimits(request_timeout=READ_TIMEOUT, idle_timeout=READ_TIMEOUT, threads=2)


@pytest.fixture
def server(app: Flask) -> Iterator[HTTPServer]:
    server = make_http_server("127.0.0.1", 0, app, LIMITS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the server did not stop within 10 s"


def _closed_after(server: HTTPServer, sent: bytes) -> float:
    """Send `sent`, then nothing: seconds until the server closes the connection (fails past 5 s)."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        while True:
            try:
                if not sock.recv(65536):
                    return time.monotonic() - started
            except ConnectionResetError:
                return time.monotonic() - started
            except TimeoutError:
                pytest.fail("the server kept a silent connection open for 5 s")


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connected, said nothing
        b"GET /calendar.ics HTTP/1.1\r\nHost: x\r\n",  # stalled inside the headers
        b"POST /api/v1/subscriptions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Authorization: Bearer x\r\nContent-Length: 100\r\n\r\n{"url": ',  # stalled inside the body
        b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",  # answered, then kept idle (keep-alive)
    ],
    ids=["idle", "stalled-headers", "stalled-body", "keep-alive-idle"],
)
def test_a_silent_connection_is_closed(
    server: HTTPServer, sent: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert _closed_after(server, sent) < READ_TIMEOUT + 2
    # Routine, not an error: a thousand idle clients must not write a thousand error lines.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_a_trickling_request_is_closed_at_its_deadline(server: HTTPServer) -> None:
    # One header line every 0.2 s never leaves the connection idle: only a whole-request deadline ends it.
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n")
        closed = False
        while time.monotonic() - started < READ_TIMEOUT + 4:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
    assert closed, "a request trickling for 5 s was still being read"
    assert time.monotonic() - started < READ_TIMEOUT + 3


def test_requests_share_a_fixed_pool_of_threads(server: HTTPServer) -> None:
    before = threading.active_count()
    sockets = [socket.create_connection(("127.0.0.1", server.server_port)) for _ in range(50)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        got = requests.get(f"http://127.0.0.1:{server.server_port}/readyz", timeout=5)
        assert got.status_code == 200
        assert threading.active_count() <= before + LIMITS.threads
    finally:
        for sock in sockets:
            sock.close()


def test_stop_answers_a_request_in_flight_and_refuses_new_ones(app: Flask) -> None:
    server = make_http_server("127.0.0.1", 0, app, LIMITS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/readyz"
    assert requests.get(url, timeout=5).status_code == 200
    started = time.monotonic()
    server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - started < LIMITS.drain + 2
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_the_server_still_serves_while_a_connection_stalls(server: HTTPServer) -> None:
    with socket.create_connection(("127.0.0.1", server.server_port)) as stalled:
        stalled.sendall(b"GET / HTTP/1.1\r\n")
        got = requests.get(f"http://127.0.0.1:{server.server_port}/readyz", timeout=5)
    assert got.status_code == 200


def test_a_token_in_the_query_string_is_not_logged(
    server: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="calendar_service.web.access")
    base = f"http://127.0.0.1:{server.server_port}"
    requests.get(base + "/api/v1/subscriptions?token=s3cr3t-admin-token&x=1", timeout=5)
    requests.get(base + "/calendar.ics?access_token=s3cr3t-feed-token&country=US", timeout=5)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/api/v1/subscriptions?token=REDACTED&x=1" in logged
    assert "access_token=REDACTED&country=US" in logged
    assert "s3cr3t" not in logged


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/calendar.ics?country=US", "/calendar.ics?country=US"),
        (
            "/x?Token=a&api_key=b&apikey=c&password=d&sig=e&key=f",
            "/x?Token=REDACTED&api_key=REDACTED&apikey=REDACTED&password=REDACTED&sig=REDACTED&key=REDACTED",
        ),
        ("/x?monkey=1&keyword=2", "/x?monkey=1&keyword=2"),
        ("/x?token", "/x?token"),
        ("/x?%74oken=a", "/x?%74oken=REDACTED"),
    ],
)
def test_redact_target(target: str, logged: str) -> None:
    assert redact_target(target) == logged
