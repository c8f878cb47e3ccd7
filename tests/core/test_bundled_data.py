"""The bundled `data/events.yaml` as a subscriber meets it on 7 December 2026: a year of deadlines ahead,
every front of the December gaps sheet with its quoted source, and no past event that reads as confirmed
without one."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import icalendar
import pytest
from click.testing import CliRunner

from calendar_service.cli import main
from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar
from calendar_service.core.filters import parse_filter
from calendar_service.core.model import Outcome, Precision, Status
from calendar_service.core.publication import Published, reconcile
from calendar_service.render.ical import render_feed
from tests.support.paths import DATA

TODAY = dt.date(2026, 12, 7)
NOW = "2026-12-07T12:00:00Z"
# The two events in the coming year whose sources could not be read again on 7 December 2026: they keep
# the day they were last checked rather than a stamp that would claim a check nobody made.
NOW_UTC = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
QUOTE = re.compile(r'"([^"]{4,})"')
NOT_RECHECKED = {"us-301-port-fees-step-2027-04-17", "eu-fertiliser-duty-step-2027-07-01"}


@pytest.fixture(scope="module")
def calendar() -> Calendar:
    return load_calendar(DATA, today=TODAY).calendar


def published(calendar: Calendar) -> dict[str, Published]:
    """The calendar as first published today."""
    return reconcile({}, calendar, NOW_UTC, dt.timedelta(days=60))


def upcoming(days: int) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        main, ["upcoming", "--data", str(DATA), "--now", NOW, "--days", str(days), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


def test_the_coming_year_has_deadlines_each_sourced_and_verified() -> None:
    items = upcoming(400)
    assert len(items) >= 25
    ids = {item["id"] for item in items}
    assert {
        "g20-2026-miami-summit",
        "us-agoa-expiry-2026-12-31",
        "us-232-wood-stepup-2027-01-01",
        "eu-cbam-first-annual-declaration-2027-09-30",
        "eu-forced-labour-regulation-2027-12-14",
    } <= ids
    for item in items:
        assert item["sources"], item["id"]
        assert all(s.get("url") for s in item["sources"]), item["id"]
        if item["start"]["local"][:10] < "2028-01-01":  # dated to the end of 2027 as the event shows it
            expected = "2026-11-29" if item["id"] in NOT_RECHECKED else TODAY.isoformat()
            assert item["verified"] == expected, item["id"]


def test_every_event_records_when_it_was_verified(calendar: Calendar) -> None:
    unverified = [event.id for event in calendar if event.verified is None]
    assert unverified == []


def test_tentative_forward_events_say_why(calendar: Calendar) -> None:
    ahead = [e for e in calendar if e.status is Status.TENTATIVE and e.start_utc(calendar.tz) > NOW_UTC]
    assert len(ahead) == 8  # Canada's two June 2027 ends became scheduled (BLG, June 2026)
    for event in ahead:
        assert "Tentative:" in (event.description or ""), event.id


def test_no_past_event_reads_as_confirmed_without_a_source(calendar: Calendar) -> None:
    tz = calendar.tz
    past = [
        e for e in calendar if e.status is Status.TENTATIVE and (e.end_utc(tz) or e.start_utc(tz)) < NOW_UTC
    ]
    assert {e.id for e in past} == {
        "us-ustr-301-exclusions-expiry",
        "us-cn-arrangement-expiry-2026-11-10",
        "apec-2026-shenzhen",
        "us-bis-affiliates-rule-returns-2026-11-10",
        "cn-dual-use-metals-suspension-end-2026-11-27",
        "us-232-pharma-annex-iii-2026-07-31",
        "us-232-pharma-others-2026-09-29",
        "us-301-forced-labor-hearings-2026-07-07",
        "us-301-brazil-hearing-2026-07-06",
    }
    for event in past:
        assert event.outcome is Outcome.UNCONFIRMED, event.id
        assert "stored page" in (event.description or ""), event.id  # says which check found nothing
    feed = icalendar.Calendar.from_ical(render_feed(calendar, published(calendar), parse_filter({})))
    shown = {str(v["UID"]).split("@")[0]: v for v in feed.walk("VEVENT")}
    for event in past:
        assert str(shown[event.id]["SUMMARY"]).startswith("Unconfirmed: "), event.id
        assert shown[event.id]["STATUS"] == "TENTATIVE"


def test_status_corrections_of_the_gaps_sheet(calendar: Calendar) -> None:
    old = calendar.get("cn-34pct-2025-04-10")
    assert old.status is Status.SUPERSEDED
    assert old.superseded_by == "cn-84pct-2025-04-10"
    assert old.history[-1].kind == "superseded"
    for event_id in (
        "ca-steel-trq-extension-end-2027-06-27",
        "ca-us-steel-aluminum-remission-end-2027-06-30",
    ):
        event = calendar.get(event_id)
        assert event.status is Status.SCHEDULED
        assert any("blgwebsite" in (source.url or "") for source in event.sources)


@pytest.mark.parametrize(
    ("query", "next_step"),
    [
        ({"authority": ["Section 232"]}, "us-232-metals-reduced-rates-end-2027-12-31"),
        ({"authority": ["Section 301"]}, "us-301-china-semiconductors-rate-notice-2027-05-24"),
        ({"country": ["EU"], "kind": ["regulation"]}, "eu-eudr-application-large-medium"),
        ({"country": ["BR"]}, "us-301-brazil-determination-2026-06-01"),
    ],
)
def test_the_watched_feeds_show_their_fronts(
    calendar: Calendar, query: dict[str, list[str]], next_step: str
) -> None:
    feed = icalendar.Calendar.from_ical(render_feed(calendar, published(calendar), parse_filter(query)))
    assert next_step in {str(v["UID"]).split("@")[0] for v in feed.walk("VEVENT")}


def test_each_front_of_the_gaps_sheet_is_an_action_with_quoted_dates(calendar: Calendar) -> None:
    fronts = {
        "section-232-pharmaceuticals": 3,
        "section-232-semiconductors": 3,
        "section-232-critical-minerals": 2,
        "section-301-forced-labor": 4,
        "section-301-brazil": 3,
        "cn-dual-use-metals-ban-us": 2,
        "eu-steel-overcapacity-measure": 3,
        "wto-mc14": 2,
        "mexico-non-fta-tariffs-2026": 1,
    }
    for action, count in fronts.items():
        events = calendar.events_of(action)
        assert len(events) == count, action
        for event in events:
            quotes = QUOTE.findall(event.description or "")
            assert quotes, event.id
            assert all(len(quote.split()) <= 25 for quote in quotes), event.id
            assert event.verified == TODAY, event.id


def test_a_derived_date_is_approximate_and_says_how(calendar: Calendar) -> None:
    for event_id in (
        "us-301-china-semiconductors-rate-notice-2027-05-24",
        "eu-steel-scope-review-2027-01-01",
    ):
        event = calendar.get(event_id)
        assert event.precision is Precision.APPROXIMATE
        assert "Derived, not stated" in (event.description or "")
    assert calendar.get("us-301-china-semiconductors-rate-notice-2027-05-24").start == dt.date(2027, 5, 24)


def test_the_2026_wood_step_up_is_superseded_by_the_deferred_2027_one(calendar: Calendar) -> None:
    old = calendar.get("us-232-wood-stepup-2026-01-01")
    assert old.status is Status.SUPERSEDED
    assert old.superseded_by == "us-232-wood-stepup-2027-01-01"
    change = old.history[-1]
    assert change.kind == "superseded"
    assert change.was is None  # it was superseded, not moved: no "was 1 Jan → now 1 Jan"
    assert change.was_status is Status.TENTATIVE
    assert calendar.get("us-232-wood-stepup-2027-01-01").start == dt.date(2027, 1, 1)
    assert "us-232-wood-stepup-2026-01-01" not in {item["id"] for item in upcoming(400)}


def test_a_superseded_deadline_names_its_successor_in_the_feed(calendar: Calendar) -> None:
    only = parse_filter({"tag": ["geneva-truce"]})
    feed = icalendar.Calendar.from_ical(render_feed(calendar, published(calendar), only))
    (event,) = [
        e for e in feed.walk("VEVENT") if str(e["UID"]).startswith("us-cn-geneva-truce-original-expiry@")
    ]
    text = str(event["DESCRIPTION"])
    assert "Superseded by: US extends China reciprocal-tariff suspension to Nov 10, 2025" in text
    assert "- 2025-08-11 superseded — Superseded by Aug 11, 2025 EO" in text
    assert "was 2025-08-12" not in text  # the expiry itself never moved
