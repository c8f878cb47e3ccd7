"""The three wire formats of a webhook message: Standard Webhooks JSON, Slack, Teams."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from calendar_service.core.messages import FORMATS, Format, Message, MessageType
from calendar_service.core.timing import utc_text


def render_payload(message: Message, fmt: Format) -> bytes:
    """The request body for `message` in format `fmt`, as UTF-8 JSON bytes."""
    if fmt == "standard":
        body: dict[str, Any] = {
            "type": message.type,
            "timestamp": utc_text(message.timestamp),
            "data": dict(message.data),
        }
    elif fmt == "slack":
        body = _slack_digest(message) if message.type in _DIGESTS else _slack(message)
    elif fmt == "teams":
        body = _teams_digest(message) if message.type in _DIGESTS else _teams(message)
    else:
        raise ValueError(f"unknown webhook format {fmt!r}; use one of {', '.join(FORMATS)}")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def humanize(delta: dt.timedelta) -> str:
    """`2 days 3 hours`, `45 minutes`, `less than a minute` — the two largest units.

    Rounded to the nearest minute, as people read a countdown: a one-hour reminder fires a moment
    after its instant, and 59 min 59.8 s left is "1 hour", not "59 minutes".
    """
    minutes = int((delta.total_seconds() + 30) // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((days, "day"), (hours, "hour"), (mins, "minute"))
        if n
    ]
    return " ".join(parts[:2])


# --- human formats ---------------------------------------------------------------------------------

_HEADLINES: dict[str, str] = {
    MessageType.REMINDER_DUE: "Deadline reminder",
    MessageType.EVENT_RESCHEDULED: "Deadline moved",
    MessageType.EVENT_CANCELLED: "Event cancelled",
    MessageType.EVENT_CREATED: "New event",
    MessageType.TEST: "Test message from Trade Calendar",
}


def _lines(message: Message) -> tuple[str, list[tuple[str, str]], list[dict[str, str]]]:
    """Headline, (label, value) facts and sources shared by the Slack and Teams renderings."""
    d = message.data
    headline = _HEADLINES.get(message.type, message.type)
    if message.type == MessageType.EVENT_CANCELLED and isinstance(d.get("successor"), Mapping):
        headline = "Event superseded"
    title = str(d.get("title") or "")
    if title:
        headline = f"{headline}: {title}"
    if d.get("late"):
        headline += " (sent late)"
    facts: list[tuple[str, str]] = []
    deadline = d.get("deadline")
    if isinstance(deadline, Mapping):
        facts.append(("When", _when(deadline)))
        remaining = _until(deadline, message.timestamp)
        if remaining:
            facts.append(("Time left", remaining))
    successor = d.get("successor")
    for key, label in (("old", "Was"), ("new", "Now")):
        value = d.get(key)
        if key == "new" and isinstance(successor, Mapping) and isinstance(successor.get("at"), Mapping):
            # Superseded: what now applies is the successor's time (its title is in "Why").
            value = successor["at"]
        if key in d and message.type != MessageType.REMINDER_DUE:
            facts.append((label, _when(value) if isinstance(value, Mapping) else "—"))
    if d.get("kind"):
        facts.append(("Kind", str(d["kind"])))
    if d.get("reason"):
        facts.append(("Why", str(d["reason"])))
    sources = [dict(s) for s in d.get("sources") or () if isinstance(s, Mapping) and s.get("url")]
    return headline, facts, sources


def _when(moment: Mapping[str, Any]) -> str:
    """`Wed 9 Jul 2025 00:01 EDT (America/New_York) · 2025-07-09 04:01 UTC`."""
    try:
        local = dt.datetime.fromisoformat(str(moment["local"]))
        utc = dt.datetime.fromisoformat(str(moment["utc"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return str(moment.get("local") or moment.get("utc") or "?")
    zone = str(moment.get("zone") or "")
    abbrev = local.astimezone(ZoneInfo(zone)).tzname() if zone else local.strftime("%z")
    shown = f"{local:%a} {local.day} {local:%b %Y %H:%M} {abbrev}"
    if moment.get("date") and moment.get("moment") in ("start", "end"):
        # A whole-day deadline reads as its date ("by the end of Thu 31 Dec 2026"), not a midnight.
        day = dt.date.fromisoformat(str(moment["date"]))
        which = "end" if moment["moment"] == "end" else "start"
        shown = f"{which} of {day:%a} {day.day} {day:%b %Y}"
    if zone:
        shown += f" ({zone})"
    return f"{shown} · {utc:%Y-%m-%d %H:%M} UTC"


def _until(deadline: Mapping[str, Any], now: dt.datetime) -> str | None:
    try:
        utc = dt.datetime.fromisoformat(str(deadline["utc"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    left = utc - now
    return f"in {humanize(left)}" if left > dt.timedelta(0) else "passed"


def _slack(message: Message) -> dict[str, Any]:
    # Slack incoming webhooks: `text` is the notification fallback, `blocks` the layout
    # (https://api.slack.com/messaging/webhooks). mrkdwn needs &, <, > escaped.
    headline, facts, sources = _lines(message)
    fallback = headline + "".join(f" · {label}: {value}" for label, value in facts[:2])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(headline, 150), "emoji": False}},
    ]
    if facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_esc(label)}*\n{_esc(value)}"}
                    for label, value in facts[:10]
                ],
            }
        )
    links = [f"<{_esc(s['url'])}|{_esc(s.get('title') or s['url'])}>" for s in sources[:5]]
    url = message.data.get("url")
    if url:
        links.insert(0, f"<{_esc(str(url))}|Calendar entry>")
    if links:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Sources: " + " · ".join(links)}]}
        )
    return {"text": _esc(fallback), "blocks": blocks}


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters on a word boundary, ending in "…" when cut."""
    if len(text) <= limit:
        return text
    cut = textwrap.shorten(text, width=limit, placeholder="…")
    # One word longer than the limit leaves only the placeholder: cut that word instead.
    return cut if cut != "…" else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _teams(message: Message) -> dict[str, Any]:
    # Teams Workflows "When a Teams webhook request is received" takes a message whose attachments
    # are Adaptive Cards; 1.4 is the highest version Teams renders everywhere.
    headline, facts, sources = _lines(message)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": headline, "weight": "Bolder", "size": "Medium", "wrap": True},
    ]
    if facts:
        body.append(
            {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in facts]}
        )
    actions: list[dict[str, Any]] = []
    url = message.data.get("url")
    if url:
        actions.append({"type": "Action.OpenUrl", "title": "Calendar entry", "url": str(url)})
    actions += [
        {"type": "Action.OpenUrl", "title": shorten(s.get("title") or "Source", 40), "url": s["url"]}
        for s in sources[:4]
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


# --- digests: one message listing several ---------------------------------------------------------

_DIGESTS = {MessageType.REMINDER_DIGEST: "deadline reminders", MessageType.EVENT_DIGEST: "calendar changes"}
_SLACK_ITEMS = 45  # Slack takes at most 50 blocks; one is the header, one the "and N more" line


def _digest_items(message: Message) -> list[tuple[str, list[tuple[str, str]], list[dict[str, str]], str]]:
    """Each item's headline, facts, sources and url, rendered as its own message would be."""
    out = []
    for item in message.data.get("items") or ():
        if isinstance(item, Mapping):
            single = Message(
                str(item.get("id") or message.id), str(item.get("type")), message.timestamp, item
            )
            out.append((*_lines(single), str(item.get("url") or "")))
    return out


def _digest_headline(message: Message) -> str:
    count = len(message.data.get("items") or ())
    return f"{count} {_DIGESTS[MessageType(message.type)]}"


def _slack_digest(message: Message) -> dict[str, Any]:
    headline = _digest_headline(message)
    items = _digest_items(message)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(headline, 150), "emoji": False}},
    ]
    for title, facts, sources, url in items[:_SLACK_ITEMS]:
        lines = [f"*{_esc(title)}*", *(f"{_esc(label)}: {_esc(value)}" for label, value in facts[:4])]
        links = [f"<{_esc(s['url'])}|{_esc(s.get('title') or s['url'])}>" for s in sources[:3]]
        if url:
            links.insert(0, f"<{_esc(url)}|Calendar entry>")
        if links:
            lines.append(" · ".join(links))
        text = shorten("\n".join(lines), 3000)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if len(items) > _SLACK_ITEMS:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"…and {len(items) - _SLACK_ITEMS} more"}],
            }
        )
    titles = [title for title, *_ in items]
    fallback = f"{headline}: {'; '.join(titles[:3])}{'; …' if len(titles) > 3 else ''}"
    return {"text": _esc(fallback), "blocks": blocks}


def _teams_digest(message: Message) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _digest_headline(message),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
    ]
    for title, facts, sources, url in _digest_items(message):
        parts: list[dict[str, Any]] = [{"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True}]
        if facts:
            parts.append(
                {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in facts]}
            )
        links = [f"[Calendar entry]({url})"] if url else []
        links += [f"[{shorten(s.get('title') or 'Source', 40)}]({s['url']})" for s in sources[:3]]
        if links:
            parts.append({"type": "TextBlock", "text": " · ".join(links), "wrap": True, "size": "Small"})
        body.append({"type": "Container", "separator": True, "items": parts})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
