"""A page's readable text: the main content without chrome; hostile or broken pages cost bounded time."""

from __future__ import annotations

import time

import pytest

from calendar_service.adapters.sources.extract import readable_text

PAGE = (
    b"<html><head><title>USTR</title><script>track()</script></head><body>"
    b"<nav><a href='/'>Home</a><a href='/news'>News</a></nav>"
    b"<main><article><h1>Notice of hearing</h1><p>The hearing will be held on January 20, 2027, in "
    b"the main hearing room.</p><p>Written comments are due by January 5, 2027.</p></article></main>"
    b"<footer>Privacy policy | Accessibility</footer></body></html>"
)


def test_the_main_content_without_menus_and_footers() -> None:
    text = readable_text(PAGE, "text/html; charset=utf-8")
    assert "The hearing will be held on January 20, 2027" in text
    assert "Written comments are due by January 5, 2027." in text
    assert "Privacy policy" not in text
    assert "track()" not in text


def test_plain_text_and_binary() -> None:
    assert readable_text("Résumé".encode("latin-1"), "text/plain; charset=latin-1") == "Résumé"
    pdf = readable_text(b"%PDF-1.7 ...", "application/pdf")
    assert pdf.startswith("[application/pdf document, 12 bytes, sha256 ")


@pytest.mark.parametrize(
    "body",
    [
        b"<div>" * 200_000 + b"deep" + b"</div>" * 200_000,
        bytes(range(256)) * 4000,
        b"<p>" + b"<b>x" * 100_000,
    ],
    ids=["nested-200k", "binary-garbage", "unclosed-tags"],
)
def test_hostile_pages_are_read_in_bounded_time(body: bytes) -> None:
    started = time.monotonic()
    text = readable_text(body, "text/html")
    assert time.monotonic() - started < 10
    assert text  # never empty: words, or a digest of the bytes so a change is still seen
