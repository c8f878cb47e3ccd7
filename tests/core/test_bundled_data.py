"""The bundled `data/events.yaml` as a subscriber meets it on 29 November 2026: a year of deadlines ahead."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import icalendar
import pytest
from click.testing import CliRunner

from calendar_service.cli import main
from calendar_service.core.calendar import Calendar
from calendar_service.core.datafile import load_calendar
from calendar_service.core.filters import parse_filter
from calendar_service.core.model import Status
from calendar_service.core.publication import reconcile
from calendar_service.render.ical import render_feed
from tests.support.paths import DATA

TODAY = dt.date(2026, 11, 29)
NOW = "2026-11-29T12:00:00Z"


@pytest.fixture(scope="module")
def calendar() -> Calendar:
    return load_calendar(DATA, today=TODAY).calendar


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
        assert item["verified"] in ("2026-11-24", "2026-11-29"), item["id"]


def test_every_event_records_when_it_was_verified(calendar: Calendar) -> None:
    unverified = [event.id for event in calendar if event.verified is None]
    assert unverified == []


def test_tentative_forward_events_say_why(calendar: Calendar) -> None:
    tentative = [e for e in calendar if e.status is Status.TENTATIVE and e.verified == TODAY]
    assert len(tentative) == 10
    for event in tentative:
        assert "Tentative:" in (event.description or ""), event.id


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
    published = reconcile({}, calendar, dt.datetime(2026, 11, 29, tzinfo=dt.UTC), dt.timedelta(days=60))
    only = parse_filter({"tag": ["geneva-truce"]})
    feed = icalendar.Calendar.from_ical(render_feed(calendar, published, only))
    (event,) = [
        e for e in feed.walk("VEVENT") if str(e["UID"]).startswith("us-cn-geneva-truce-original-expiry@")
    ]
    text = str(event["DESCRIPTION"])
    assert "Superseded by: US extends China reciprocal-tariff suspension to Nov 10, 2025" in text
    assert "- 2025-08-11 superseded — Superseded by Aug 11, 2025 EO" in text
    assert "was 2025-08-12" not in text  # the expiry itself never moved
