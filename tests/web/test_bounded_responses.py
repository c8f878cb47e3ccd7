"""API pages are bounded in bytes: a long series with a long description pages by `next_cursor`.

On main, `limit` bounded a page in events only, and 100,000 duplicate exdates copied into every
occurrence made one anonymous call return 597 MB.
"""

from __future__ import annotations

from pathlib import Path

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app
from calendar_service.web.api import MAX_PAGE_BYTES

HEAD = "calendar: {name: T, timezone: UTC, reviewed: 2025-06-01, contact: c@example.org}\nevents:\n"


def test_a_page_of_events_stops_at_the_byte_budget_and_the_cursor_walks_all(
    tmp_path: Path, clock: SettableClock
) -> None:
    description = "A long description of the measure. " * 220  # about 7,700 characters
    entry = (
        f"  - {{id: long, title: Long, kind: deadline, countries: [US], date: 2025-07-01, "
        f'description: "{description}", repeat: {{rrule: "FREQ=DAILY;COUNT=400"}}, '
        "sources: [{title: x}]}\n"
    )
    data = tmp_path / "events.yaml"
    data.write_text(HEAD + entry, encoding="utf-8")
    settings = Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", reload_interval=60, reload_settle=0
    )
    client = create_app(settings, clock=clock).test_client()
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        answer = client.get(f"/api/v1/events?limit=500{cursor}")
        assert answer.status_code == 200
        assert len(answer.data) < MAX_PAGE_BYTES + 20_000  # the budget plus the envelope
        body = answer.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert pages >= 3  # 400 x ~8 KB does not fit one page
    assert len(seen) == len(set(seen)) == 400
