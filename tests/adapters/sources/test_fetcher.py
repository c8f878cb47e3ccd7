"""The polite fetcher against a loopback server: conditional GETs, limits, refusals, hostile answers."""

from __future__ import annotations

import asyncio
import resource
import time

import pytest

from calendar_service.adapters.sources.fetcher import PoliteFetcher, Response, Validators
from calendar_service.adapters.webhooks.security import AddressPolicy
from tests.support.replay import Page, ReplayServer, gzip_bomb

HTML = (
    b"<html><body><nav>menu</nav><article><h1>Notice</h1><p>Comments due 5 January 2027.</p></article>"
    b"</body></html>"
)


def fetch(url: str, validators: Validators | None = None, **options: object) -> Response:
    async def go() -> Response:
        async with PoliteFetcher(AddressPolicy(allow_private=True), **options) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch(url, validators)

    return asyncio.run(go())


@pytest.fixture
def site() -> ReplayServer:
    with ReplayServer() as server:
        yield server


def test_a_page_is_read_and_the_next_read_is_conditional(site: ReplayServer) -> None:
    site.page("/n", Page(HTML, etag='"v1"', last_modified="Mon, 07 Dec 2026 10:00:00 GMT"))
    first = fetch(site.url("/n"), contact="curators@example.org")
    assert first.kind == "ok"
    assert first.body == HTML
    assert first.etag == '"v1"'
    assert "curators@example.org" in site.requests[-1].headers["user-agent"]
    again = fetch(site.url("/n"), Validators(first.etag, first.last_modified))
    assert again.kind == "not-modified"
    headers = site.requests[-1].headers
    assert headers["if-none-match"] == '"v1"'
    assert headers["if-modified-since"] == "Mon, 07 Dec 2026 10:00:00 GMT"


@pytest.mark.parametrize("status", [404, 410])
def test_a_missing_page_is_gone(site: ReplayServer, status: int) -> None:
    site.page("/gone", Page(b"no", status=status))
    answer = fetch(site.url("/gone"))
    assert (answer.kind, answer.status, answer.error) == ("gone", status, f"HTTP {status}")


def test_a_redirect_is_followed_and_one_to_cloud_metadata_is_refused(site: ReplayServer) -> None:
    site.page("/old", Page(status=301, headers={"Location": "/new"}))
    site.page("/new", Page(HTML))
    moved = fetch(site.url("/old"))
    assert moved.kind == "ok"
    assert moved.final_url == site.url("/new")
    assert moved.url == site.url("/old")
    site.page("/evil", Page(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    refused = fetch(site.url("/evil"))
    assert refused.kind == "failed"
    assert "metadata" in (refused.error or "")


def test_a_private_address_is_refused_by_default(site: ReplayServer) -> None:
    site.page("/n", Page(HTML))

    async def go() -> Response:
        async with PoliteFetcher(AddressPolicy(allow_private=False)) as fetcher:
            return await fetcher.fetch(site.url("/n"))

    answer = asyncio.run(go())
    assert answer.kind == "failed"
    assert "loopback" in (answer.error or "")
    assert site.requests == []


def test_a_slow_page_times_out_within_the_bound(site: ReplayServer) -> None:
    site.page("/slow", Page(HTML, delay=30))
    started = time.monotonic()
    answer = fetch(site.url("/slow"), timeout=0.5)
    assert answer.kind == "failed"
    assert "timed out" in (answer.error or "")
    assert answer.network
    assert time.monotonic() - started < 5


def test_a_20_mb_page_is_not_read_past_the_cap(site: ReplayServer) -> None:
    site.page("/big", Page(stream=(b"x" * 65536, 320)))  # 20 MiB
    answer = fetch(site.url("/big"), max_bytes=1_000_000)
    assert answer.kind == "failed"
    assert "larger than 1,000,000 bytes" in (answer.error or "")


def test_a_gzip_bomb_stops_at_the_cap_without_inflating_it(site: ReplayServer) -> None:
    bomb = gzip_bomb(300_000_000)  # 300 MB of zeros in about 300 kB
    site.page("/bomb", Page(bomb, headers={"Content-Encoding": "gzip"}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answer = fetch(site.url("/bomb"), max_bytes=2_000_000)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert answer.kind == "failed"
    assert "larger than" in (answer.error or "")
    assert grown_mb < 200


def test_gzip_is_inflated(site: ReplayServer) -> None:
    import gzip

    site.page("/z", Page(gzip.compress(HTML), headers={"Content-Encoding": "gzip"}))
    assert fetch(site.url("/z")).body == HTML


def test_robots_txt_is_honoured(site: ReplayServer) -> None:
    site.page("/robots.txt", Page(b"User-agent: *\nDisallow: /private\n", content_type="text/plain"))
    site.page("/private/x", Page(HTML))
    site.page("/public", Page(HTML))
    refused = fetch(site.url("/private/x"))
    assert refused.kind == "failed"
    assert "robots.txt" in (refused.error or "")
    assert site.hits("/private/x") == 0
    assert fetch(site.url("/public")).kind == "ok"


def test_robots_txt_that_fails_with_5xx_holds_the_host_back(site: ReplayServer) -> None:
    site.page("/robots.txt", Page(b"oops", status=503))
    site.page("/n", Page(HTML))
    answer = fetch(site.url("/n"))
    assert answer.kind == "failed"
    assert "robots.txt answered HTTP 503" in (answer.error or "")


def test_at_most_per_host_requests_at_once_and_spaced(site: ReplayServer) -> None:
    for i in range(12):
        site.page(f"/p{i}", Page(HTML, delay=0.05))

    async def go() -> list[Response]:
        async with PoliteFetcher(AddressPolicy(allow_private=True), per_host=2, min_delay=0) as fetcher:
            return await fetcher.fetch_all([(site.url(f"/p{i}"), None) for i in range(12)])

    answers = asyncio.run(go())
    assert all(a.kind == "ok" for a in answers)
    assert site.peak <= 2

    async def spaced() -> float:
        async with PoliteFetcher(AddressPolicy(allow_private=True), per_host=4, min_delay=0.2) as fetcher:
            started = time.monotonic()
            await fetcher.fetch_all([(site.url(f"/p{i}"), None) for i in range(4)])
            return time.monotonic() - started

    assert asyncio.run(spaced()) >= 0.55  # 4 starts, 0.2 s apart (robots.txt first)
