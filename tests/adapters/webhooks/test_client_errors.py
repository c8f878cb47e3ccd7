"""What a failed delivery says: a self-signed receiver, a gzip error page, a port 0 URL.

On main a self-signed TLS receiver's error read "Operation not permitted" (OpenSSL's code 1 read as an
OS errno) and was retried as temporary; a gzip body on a 500 put binary into the error text; and a URL
with port 0 was accepted (then sent to the scheme's default port).
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from calendar_service.adapters.webhooks.client import WebhookClient
from calendar_service.adapters.webhooks.security import AddressPolicy
from calendar_service.adapters.webhooks.signing import new_secret
from calendar_service.core.errors import UnsafeWebhookURL
from calendar_service.core.messages import Message
from tests.support.receiver import Receiver, Reply

NOW = dt.datetime.now(dt.UTC)


def _message() -> Message:
    return Message(id="rem_1", type="test", timestamp=NOW, data={"title": "Truce ends"})


def _client() -> WebhookClient:
    return WebhookClient(AddressPolicy(allow_private=True), timeout=5.0)


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def self_signed_receiver(tmp_path: Path) -> Iterator[str]:
    """An HTTPS receiver on loopback with a self-signed certificate made by openssl for this test."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_self_signed_receiver_fails_for_good_and_says_why(self_signed_receiver: str) -> None:
    attempt = _client().send(self_signed_receiver, new_secret(), _message(), "standard")
    assert attempt.outcome == "failed"  # the same certificate fails the same way at every retry
    assert attempt.error is not None
    assert "TLS certificate is not trusted" in attempt.error
    assert "self-signed" in attempt.error
    assert "Operation not permitted" not in attempt.error


def test_a_gzip_error_page_is_named_not_printed(receiver: Receiver) -> None:
    page = gzip.compress(b"<html>" + bytes(range(256)) * 4 + b"</html>")
    receiver.script(Reply(500, page, headers={"Content-Encoding": "gzip"}))
    attempt = _client().send(receiver.url, new_secret(), _message(), "standard")
    assert attempt.outcome == "retry"
    assert attempt.error == f"HTTP 500: (gzip-encoded body, {len(page)} bytes, not shown)"


def test_a_binary_error_page_is_named_not_printed(receiver: Receiver) -> None:
    receiver.script(Reply(502, b"\x00\x01\xfe\xff" * 50))
    attempt = _client().send(receiver.url, new_secret(), _message(), "standard")
    assert attempt.error == "HTTP 502: (binary body, 200 bytes, not shown)"


def test_a_text_error_page_is_still_quoted(receiver: Receiver) -> None:
    receiver.script(Reply(503, "Wartung läuft — später".encode()))
    attempt = _client().send(receiver.url, new_secret(), _message(), "standard")
    assert attempt.error == "HTTP 503: Wartung läuft — später"


@pytest.mark.parametrize("url", ["https://example.org:0/hook", "http://203.0.113.5:0/"])
def test_port_zero_is_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookURL, match="port 0"):
        AddressPolicy(resolver=lambda host, port: ["203.0.113.5"]).check_url(url)
