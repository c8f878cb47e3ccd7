"""gzip on the app's own server: pages, JSON and Atom compressed for clients that ask, each encoding with
its own strong ETag, conditional requests answered for either copy, calendar files left alone."""

from __future__ import annotations

import gzip
import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from calendar_service.web.compression import MIN_SIZE, accepts_gzip
from tests.support.webapp import LiveServer, reloaded, sample_yaml


def raw_get(server: LiveServer, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """GET without any client-side decoding: the status, headers (lower-cased names) and bytes sent."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/", "/events/tariff-hike", "/api/v1/events", "/search?q=tariff", "/docs"])
def test_compressed_and_plain_copies_are_the_same_content_under_different_strong_etags(
    live_server: LiveServer, path: str
) -> None:
    status, plain_headers, plain = raw_get(live_server, path, {"Accept-Encoding": "identity"})
    assert status == 200
    assert "content-encoding" not in plain_headers
    status, headers, packed = raw_get(live_server, path, {"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in headers["vary"]
    assert plain_headers["vary"] == headers["vary"]  # caches learn from either answer that it varies
    assert int(headers["content-length"]) == len(packed) < len(plain)
    assert gzip.decompress(packed) == plain
    if "etag" in plain_headers:
        assert headers["etag"] != plain_headers["etag"]
        assert not headers["etag"].startswith("W/")
        assert headers["etag"] == plain_headers["etag"][:-1] + '-gzip"'


def test_either_copy_revalidates_to_304_naming_the_tag_the_client_holds(live_server: LiveServer) -> None:
    _, plain_headers, _ = raw_get(live_server, "/", {})
    _, gz_headers, _ = raw_get(live_server, "/", {"Accept-Encoding": "gzip"})
    status, headers, body = raw_get(
        live_server, "/", {"Accept-Encoding": "gzip", "If-None-Match": gz_headers["etag"]}
    )
    assert (status, body) == (304, b"")
    assert headers["etag"] == gz_headers["etag"]
    status, headers, _ = raw_get(live_server, "/", {"If-None-Match": plain_headers["etag"]})
    assert status == 304
    assert headers["etag"] == plain_headers["etag"]
    # The gzip tag names a different representation: a client that no longer takes gzip gets the body.
    status, _, body = raw_get(live_server, "/", {"If-None-Match": gz_headers["etag"]})
    assert status == 200
    assert body.startswith(b"<!doctype html>")


def test_a_data_edit_gives_the_compressed_copy_a_new_tag(live_server: LiveServer, data_file: Path) -> None:
    _, before, _ = raw_get(live_server, "/events/tariff-hike", {"Accept-Encoding": "gzip"})
    data_file.write_text(
        sample_yaml().replace("Reciprocal tariff increase takes effect", "Reciprocal tariff rise"),
        encoding="utf-8",
    )
    reloaded(live_server.app)
    status, after, packed = raw_get(
        live_server, "/events/tariff-hike", {"Accept-Encoding": "gzip", "If-None-Match": before["etag"]}
    )
    assert status == 200
    assert after["etag"] != before["etag"]
    assert b"Reciprocal tariff rise" in gzip.decompress(packed)


def test_calendar_files_and_refusals_stay_uncompressed(live_server: LiveServer) -> None:
    for path in ("/calendar.ics", "/events/tariff-hike.ics"):
        _, headers, body = raw_get(live_server, path, {"Accept-Encoding": "gzip"})
        assert "content-encoding" not in headers, path  # Outlook on the web fails on gzip'd feeds
        assert body.startswith(b"BEGIN:VCALENDAR")
    _, headers, body = raw_get(live_server, "/", {"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in headers
    assert body.startswith(b"<!doctype html>")
    _, headers, body = raw_get(live_server, "/healthz", {"Accept-Encoding": "gzip"})
    assert len(body) < MIN_SIZE
    assert "content-encoding" not in headers  # too small to gain from it


@pytest.mark.parametrize(
    ("header", "expected"),
    [("gzip", True), ("GZIP;q=0.5", True), ("gzip;q=0", False), ("br, *", True), ("*;q=0", False),
     ("identity", False), ("", False), ("deflate, x-gzip", True)],
)  # fmt: skip
def test_accept_encoding_is_read_with_its_weights(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected
