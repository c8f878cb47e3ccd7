"""A repeating deadline, a whole-day EU deadline and a date range read the same in the feed, the JSON,
the pages, the CLI and the per-event file (issue 18, one test per finding)."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import recurring_ical_events
from click.testing import CliRunner
from flask.testing import FlaskClient

from calendar_service.adapters.clock import SettableClock
from calendar_service.cli import main
from tests.support.webapp import sample_yaml

EXTRA = """
  - id: weekly-filing
    title: Weekly export filing
    kind: deadline
    countries: [US]
    date: 2025-03-01
    repeat:
      rrule: FREQ=WEEKLY;COUNT=5
      exdate: [2025-03-22]
    sources: [{title: Notice, url: "https://example.com/w"}]
  - id: eu-register
    title: EU register closes
    kind: deadline
    countries: [EU]
    date: 2026-12-29
    sources: [{title: OJ, url: "https://example.com/eu"}]
  - id: us-hearing
    title: US hearing
    kind: hearing
    countries: [US]
    date: 2025-06-09
    sources: [{title: Notice, url: "https://example.com/h"}]
  - id: us-301-nicaragua-step
    title: Nicaragua tariff step
    kind: tariff
    countries: [US]
    date: 2027-01-01
    sources: [{title: Notice, url: "https://example.com/n"}]
  - id: us-agoa-expiry
    title: AGOA expires
    kind: deadline
    countries: [US]
    date: 2026-12-31
    sources: [{title: Notice, url: "https://example.com/a"}]
"""
FILING_DATES = ["2025-03-01", "2025-03-08", "2025-03-15", "2025-03-29"]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(sample_yaml().rstrip("\n") + "\n" + EXTRA, encoding="utf-8")
    return path


def _dates(ics: bytes) -> list[str]:
    calendar = icalendar.Calendar.from_ical(ics)
    found = recurring_ical_events.of(calendar).between(dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    return sorted(str(o["DTSTART"].dt) for o in found if "weekly-filing" in str(o["UID"]))


def test_1_a_date_of_a_series_is_the_feed_series_itself(client: FlaskClient) -> None:
    api = [e["start"]["date"] for e in client.get("/api/v1/events?q=weekly-filing").get_json()["items"]]
    assert api == FILING_DATES
    feed = client.get("/calendar.ics").data
    (master,) = [e for e in icalendar.Calendar.from_ical(feed).walk("VEVENT") if "weekly" in str(e["UID"])]
    for day in FILING_DATES:
        one = client.get(f"/events/weekly-filing-{day}.ics").data
        assert _dates(one) == FILING_DATES  # no 04-05, 04-12: the rule is not restarted at the date
        (vevent,) = icalendar.Calendar.from_ical(one).walk("VEVENT")
        for name in ("UID", "SEQUENCE", "DTSTART", "DTSTAMP"):
            assert vevent[name].to_ical() == master[name].to_ical(), name
        assert vevent["RRULE"].to_ical() == master["RRULE"].to_ical()
        assert vevent["EXDATE"].to_ical() == master["EXDATE"].to_ical()
    assert _dates(feed) == FILING_DATES


def test_1_the_series_id_answers_in_html_ics_and_json(client: FlaskClient) -> None:
    page = client.get("/events/weekly-filing")
    assert page.status_code == 200
    assert b'id="series-dates"' in page.data
    assert _dates(client.get("/events/weekly-filing.ics").data) == FILING_DATES
    data = client.get("/api/v1/events/weekly-filing").get_json()
    assert data["id"] == "weekly-filing"
    assert [o["start"]["date"] for o in data["occurrences"]] == FILING_DATES
    assert {o["feed_sequence"] for o in data["occurrences"]} == {data["feed_sequence"]}


def test_1_the_google_link_adds_the_series_and_outlook_none(client: FlaskClient) -> None:
    html = client.get("/events/weekly-filing-2025-03-15").data.decode()
    link = unescape(re.search(r'id="add-google" href="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    query = parse_qs(urlsplit(link).query)
    assert query["dates"] == ["20250301/20250302"]
    # An EXDATE cannot ride on Google's `recur`: the other dates go as RDATE, none added, none lost.
    assert query["recur"] == ["RDATE;VALUE=DATE:20250308,20250315,20250329"]
    assert 'id="add-outlook"' not in html


def test_2_a_whole_eu_day_is_read_in_brussels_in_every_view(client: FlaskClient) -> None:
    event = client.get("/api/v1/events/eu-register").get_json()
    assert event["start"]["zone"] == event["deadline"]["zone"] == "Europe/Brussels"
    assert event["start"]["utc"] == "2026-12-28T23:00:00Z"  # midnight in Brussels, not New York
    assert event["end"]["utc"] == event["deadline"]["utc"] == "2026-12-29T23:00:00Z"
    page = client.get("/events/eu-register").data.decode()
    assert "Europe/Brussels" in page
    assert 'datetime="2026-12-28T23:00:00Z"' in page


def _cli(data_file: Path, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, [*args, "--data", str(data_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("start", "end", "holds"),
    [
        ("2025-06-10", None, False),  # on 9 June only: not "from 10 June"
        ("2025-06-09", None, True),
        (None, "2025-06-09", True),  # begun by the end of 9 June
        (None, "2025-06-08", False),
        ("2025-06-09", "2025-06-09", True),
    ],
)
def test_3_the_cli_and_the_api_read_a_range_alike(
    client: FlaskClient, data_file: Path, start: str | None, end: str | None, holds: bool
) -> None:
    options = [*(["--from", start] if start else []), *(["--to", end] if end else [])]
    query = "&".join([*([f"from={start}"] if start else []), *([f"to={end}"] if end else [])])
    cli = [e["id"] for e in _cli(data_file, "events", *options)]
    api = [e["id"] for e in client.get(f"/api/v1/events?limit=500&{query}").get_json()["items"]]
    assert cli == api
    assert ("us-hearing" in api) is holds


def test_3_a_multi_day_event_is_in_a_range_while_any_of_its_days_is(client: FlaskClient) -> None:
    # The truce runs 14 May – 11 August 2025 (all day): a range inside it holds it.
    ids = [e["id"] for e in client.get("/api/v1/events?from=2025-07-01&to=2025-07-02").get_json()["items"]]
    assert "truce" in ids


def test_4_upcoming_lists_deadlines_by_the_day_it_shows(
    client: FlaskClient, clock: SettableClock, data_file: Path
) -> None:
    clock.set(dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    # AGOA: end of 31 Dec in New York (1 Jan 05:00 UTC); Nicaragua: start of 1 Jan (also 05:00 UTC).
    wanted = ["us-agoa-expiry", "us-301-nicaragua-step"]
    api = [i["event"]["id"] for i in client.get("/api/v1/deadlines/upcoming?within=P60D").get_json()["items"]]
    assert [i for i in api if i in wanted] == wanted
    result = CliRunner().invoke(
        main, ["upcoming", "--data", str(data_file), "--now", "2026-12-01T00:00:00Z", "--days", "60"]
    )
    lines = [line for line in result.stdout.splitlines() if any(w in line for w in wanted)]
    assert [line.split()[0] for line in lines] == ["2026-12-31", "2027-01-01"]
    assert "us-agoa-expiry" in lines[0]
    home = client.get("/").data.decode()
    table = home[home.index('id="upcoming"') :]
    assert table.index("/events/us-agoa-expiry") < table.index("/events/us-301-nicaragua-step")
