"""What changed, as an Atom 1.0 feed (RFC 4287) a feed reader follows.

Each entry is one change of one event. Its `id` is built from what the change is (event, origin,
kind, when), so it never changes, and its `updated` is when the change happened, so a reader sees an
entry as new or revised only when the change itself is. Pure: entries in, bytes out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class Entry:
    """One change as a feed entry."""

    id: str
    title: str
    updated: dt.datetime
    link: str
    summary: str


def entry_id(event_id: str, origin: str, change: str, at: str) -> str:
    """A tag: URI (RFC 4151) naming one change for good."""
    return f"tag:trade-calendar,2025:change/{event_id}/{origin}/{change}/{at}"


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_atom(
    entries: Sequence[Entry], *, feed_id: str, title: str, self_url: str, page_url: str, fallback: dt.datetime
) -> bytes:
    """The feed; its `updated` is the newest entry's (or `fallback` when there is none)."""
    updated = max((e.updated for e in entries), default=fallback)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{NS}">',
        f"<id>{escape(feed_id)}</id>",
        f"<title>{escape(title)}</title>",
        f"<updated>{_stamp(updated)}</updated>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(page_url)}/>',
        "<author><name>Trade Calendar</name></author>",
    ]
    for entry in entries:
        out.extend(
            (
                "<entry>",
                f"<id>{escape(entry.id)}</id>",
                f"<title>{escape(entry.title)}</title>",
                f"<updated>{_stamp(entry.updated)}</updated>",
                f'<link rel="alternate" type="text/html" href={quoteattr(entry.link)}/>',
                f'<summary type="text">{escape(entry.summary)}</summary>',
                "</entry>",
            )
        )
    out.append("</feed>")
    return ("\n".join(out) + "\n").encode("utf-8")
