"""A page's readable text: the main content without the page chrome (menus, footers, cookie banners).

HTML goes through trafilatura, a maintained main-content extractor (it scores the page's blocks with
lxml and falls back to jusText and a readability port); we keep its plain-text output. Should it find
no main content, its whole-page text (`html2txt`) is used, so a page is never fingerprinted as empty
while it has words. Plain text is used as it is; a PDF or other binary is represented by a digest of
its bytes (a change is seen, not shown).
"""

from __future__ import annotations

import hashlib
from typing import Any

MAX_TEXT = 200_000  # characters kept of one page's text


def readable_text(body: bytes, content_type: str) -> str:
    """The text a reader would see in `body`; never raises for a hostile or broken page."""
    kind = content_type.split(";")[0].strip().lower()
    charset = _charset(content_type)
    if kind in ("text/plain", "text/csv"):
        return body.decode(charset or "utf-8", "replace")[:MAX_TEXT]
    if kind in ("", "text/html", "application/xhtml+xml") or body.lstrip()[:1] == b"<":
        text = _html_text(body.decode(charset or "utf-8", "replace"))
        if text is not None:
            return text[:MAX_TEXT]
    return f"[{kind or 'binary'} document, {len(body):,} bytes, sha256 {hashlib.sha256(body).hexdigest()}]"


def _html_text(html: str) -> str | None:
    import trafilatura  # imported on use: lxml and its models load only when a page is read

    try:
        options: dict[str, Any] = {"include_comments": False, "include_tables": True, "deduplicate": False}
        # fast: trafilatura's own algorithm alone, about half the time; its fallbacks (a readability
        # port, jusText) only for the pages where it finds nothing
        text = trafilatura.extract(html, fast=True, **options) or trafilatura.extract(html, **options)
        if not text:
            text = trafilatura.html2txt(html)
    except Exception:  # a parser failure on hostile markup: the caller hashes the bytes instead
        return None
    return text or None


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            candidate = value.strip('"').lower()
            try:
                "".encode(candidate)
            except LookupError:
                return None
            return candidate
    return None
