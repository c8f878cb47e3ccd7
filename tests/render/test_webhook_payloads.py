"""Payload formats: Standard Webhooks JSON, Slack blocks, Teams Adaptive Card — shape and snapshots.

Regenerate the snapshots after an intended change with:
    TRADE_CALENDAR_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/render/test_webhook_payloads.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from calendar_service.core.messages import Message, change_data, reminder_data, successor_data
from calendar_service.core.reminders.digests import digest_data
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.timing import iso_duration
from calendar_service.render.webhook_payloads import humanize, render_payload, shorten

SNAPSHOTS = Path(__file__).parent / "snapshots"
NY = "America/New_York"
DEADLINE = dt.datetime(2025, 7, 9, 4, 1, tzinfo=dt.UTC)  # 00:01 EDT
SENT = dt.datetime(2025, 7, 8, 4, 1, tzinfo=dt.UTC)
SOURCES = [
    {"title": "Federal Register 2025-12345", "url": "https://www.federalregister.gov/d/2025-12345"},
    {"title": "USTR <fact sheet> & notes", "url": "https://ustr.gov/x?a=1&b=2"},
]

REMINDER = Message(
    "rem_sub1_truce-ends_P1D",
    "reminder.due",
    SENT,
    reminder_data(
        event_id="truce-ends",
        title="US–China tariff truce ends",
        kind="deadline",
        deadline=DEADLINE,
        zone=NY,
        lead_time=LeadTime(dt.timedelta(days=1)),
        now=SENT,
        sources=SOURCES,
        url="https://cal.example.org/events/truce-ends",
    ),
)
RESCHEDULED = Message(
    "chg_sub1_truce-ends_v2",
    "event.rescheduled",
    SENT,
    change_data(
        event_id="truce-ends",
        title="US–China tariff truce ends",
        kind="deadline",
        zone=NY,
        old=DEADLINE,
        new=dt.datetime(2025, 8, 1, 4, 1, tzinfo=dt.UTC),
        sources=SOURCES[:1],
        reason="Executive order of 7 July extends the pause",
    ),
)
CANCELLED = Message(
    "chg_sub1_ec-duties_v3",
    "event.cancelled",
    SENT,
    change_data(
        event_id="ec-duties",
        title="EU countermeasures take effect",
        kind="effective",
        zone="Europe/Brussels",
        old=dt.datetime(2025, 7, 14, 22, 0, tzinfo=dt.UTC),
        new=None,
    ),
)
# Superseded: the message names the successor and the time that now applies, not an internal id.
SUPERSEDED = Message(
    "chg_sub1_wood-2026_v2",
    "event.cancelled",
    SENT,
    change_data(
        event_id="wood-2026",
        title="Wood tariff step-up",
        kind="effective",
        zone=NY,
        old=dt.datetime(2026, 1, 1, 5, 1, tzinfo=dt.UTC),
        new=None,
        reason="superseded by Deferred wood step-up",
        successor=successor_data(
            event_id="wood-2027",
            title="Deferred wood step-up",
            at=dt.datetime(2027, 1, 1, 5, 1, tzinfo=dt.UTC),
            zone=NY,
        ),
    ),
)
LATE = Message(
    "rem_sub1_truce-ends_PT1H",
    "reminder.due",
    DEADLINE - dt.timedelta(minutes=20),
    reminder_data(
        event_id="truce-ends",
        title="US–China tariff truce ends",
        kind="deadline",
        deadline=DEADLINE,
        zone=NY,
        lead_time=LeadTime(dt.timedelta(hours=1)),
        now=DEADLINE - dt.timedelta(minutes=20),
        late=True,
    ),
)
TEST = Message("test_sub1_1", "test", SENT, {"subscription_id": "sub1"})

TARIFF = Message(
    "rem_sub1_steel_P1D",
    "reminder.due",
    SENT,
    reminder_data(
        event_id="steel-232",
        title="Section 232 steel duties rise to 50%",
        kind="effective",
        deadline=DEADLINE,
        zone=NY,
        lead_time=LeadTime(dt.timedelta(days=1)),
        now=SENT,
        sources=SOURCES[:1],
    ),
)
DIGEST = Message(
    "dig_sub1_0709",
    "reminder.digest",
    SENT,
    digest_data([(m.id, m.type, dict(m.data)) for m in (REMINDER, TARIFF)]),
)
CHANGES = Message(
    "dig_sub1_edit",
    "event.digest",
    SENT,
    digest_data([(m.id, m.type, dict(m.data)) for m in (RESCHEDULED, CANCELLED)]),
)

CASES = {
    "reminder": REMINDER,
    "rescheduled": RESCHEDULED,
    "cancelled": CANCELLED,
    "late": LATE,
    "test": TEST,
    "digest": DIGEST,
    "changes-digest": CHANGES,
    "superseded": SUPERSEDED,
}


@pytest.mark.parametrize("fmt", ["standard", "slack", "teams"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_snapshot(case: str, fmt: Any) -> None:
    rendered = json.loads(render_payload(CASES[case], fmt))
    path = SNAPSHOTS / f"{case}.{fmt}.json"
    text = json.dumps(rendered, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("TRADE_CALENDAR_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed; see the module docstring"


def test_standard_body_is_type_timestamp_data() -> None:
    body = json.loads(render_payload(REMINDER, "standard"))
    assert set(body) == {"type", "timestamp", "data"}
    assert body["timestamp"] == "2025-07-08T04:01:00Z"
    data = body["data"]
    assert data["deadline"] == {
        "local": "2025-07-09T00:01:00-04:00",
        "zone": NY,
        "utc": "2025-07-09T04:01:00Z",
    }
    assert (data["lead_time"], data["time_remaining"], data["late"]) == ("P1D", "P1D", False)


def test_slack_message_has_text_and_blocks_with_when_left_and_sources() -> None:
    body = json.loads(render_payload(REMINDER, "slack"))
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("Deadline reminder: US–China tariff truce ends")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context"]
    fields = " ".join(f["text"] for f in body["blocks"][1]["fields"])
    assert "Wed 9 Jul 2025 00:01 EDT (America/New_York) · 2025-07-09 04:01 UTC" in fields
    assert "in 1 day" in fields
    context = body["blocks"][2]["elements"][0]["text"]
    assert "<https://ustr.gov/x?a=1&amp;b=2|USTR &lt;fact sheet&gt; &amp; notes>" in context


def test_teams_message_is_an_adaptive_card_1_4() -> None:
    body = json.loads(render_payload(RESCHEDULED, "teams"))
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Was"].startswith("Wed 9 Jul 2025 00:01 EDT")
    assert facts["Now"].startswith("Fri 1 Aug 2025 00:01 EDT")
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Federal Register 2025-12345",
        "url": "https://www.federalregister.gov/d/2025-12345",
    }


def test_late_reminder_says_so() -> None:
    assert "(sent late)" in json.loads(render_payload(LATE, "slack"))["text"]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown webhook format 'email'"):
        render_payload(TEST, "email")  # type: ignore[arg-type]


def test_body_is_compact_utf8() -> None:
    assert "US–China".encode() in render_payload(REMINDER, "standard")


@pytest.mark.parametrize(
    ("seconds", "iso", "human"),
    [
        (0, "PT0S", "less than a minute"),
        (29, "PT29S", "less than a minute"),
        (59, "PT59S", "1 minute"),
        (3600, "PT1H", "1 hour"),
        (3599, "PT59M59S", "1 hour"),
        (86399, "PT23H59M59S", "1 day"),
        (86400, "P1D", "1 day"),
        (7 * 86400 + 5400, "P7DT1H30M", "7 days 1 hour"),
        (125, "PT2M5S", "2 minutes"),
    ],
)
def test_durations(seconds: int, iso: str, human: str) -> None:
    delta = dt.timedelta(seconds=seconds)
    assert (iso_duration(delta), humanize(delta)) == (iso, human)


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("Deadline reminder: Section 122 surcharge ends", 30, "Deadline reminder: Section…"),
        ("short", 30, "short"),
        ("Supercalifragilistic", 10, "Supercali…"),
    ],
)
def test_long_text_is_cut_on_a_word_with_an_ellipsis(text: str, limit: int, shown: str) -> None:
    assert shorten(text, limit) == shown
    assert len(shown) <= limit


def test_message_needs_an_id_and_an_aware_timestamp() -> None:
    with pytest.raises(ValueError, match="webhook-id"):
        Message("", "test", SENT, {})
    with pytest.raises(ValueError, match="naive"):
        Message("m", "test", dt.datetime(2025, 1, 1), {})


def test_a_digest_lists_every_item_in_every_format() -> None:
    standard = json.loads(render_payload(DIGEST, "standard"))
    assert standard["type"] == "reminder.digest"
    assert standard["data"]["count"] == 2
    assert [i["id"] for i in standard["data"]["items"]] == ["rem_sub1_steel_P1D", "rem_sub1_truce-ends_P1D"]
    assert {i["event_id"] for i in standard["data"]["items"]} == {"truce-ends", "steel-232"}
    slack = json.loads(render_payload(DIGEST, "slack"))
    assert slack["blocks"][0]["text"]["text"] == "2 deadline reminders"
    sections = [b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"]
    assert len(sections) == 2
    assert "steel" in sections[0]
    assert "truce" in sections[1]
    card = json.loads(render_payload(CHANGES, "teams"))["attachments"][0]["content"]
    assert card["body"][0]["text"] == "2 calendar changes"
    titles = [c["items"][0]["text"] for c in card["body"][1:]]
    # In time order: the cancelled event was due 14 July, the moved one is now due 1 August.
    assert titles == [
        "Event cancelled: EU countermeasures take effect",
        "Deadline moved: US–China tariff truce ends",
    ]


def test_a_long_digest_stays_within_slacks_block_limit() -> None:
    items = [(f"rem_{n}", "reminder.due", dict(TARIFF.data)) for n in range(60)]
    many = Message("dig_many", "reminder.digest", SENT, digest_data(items))
    rendered = json.loads(render_payload(many, "slack"))
    assert len(rendered["blocks"]) <= 50
    assert rendered["blocks"][-1]["elements"][0]["text"] == "…and 15 more"


@pytest.mark.parametrize("fmt", ["slack", "teams"])
def test_a_supersession_reads_with_the_successors_title_and_new_time(fmt: Any) -> None:
    text = render_payload(SUPERSEDED, fmt).decode()
    assert "superseded by Deferred wood step-up" in text
    assert "Fri 1 Jan 2027 00:01 EST (America/New_York)" in text  # the time that now applies
    assert "wood-2027" not in text  # an internal id is not what a reader needs
