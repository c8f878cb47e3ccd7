"""Every endpoint over a file of extreme-but-valid values: no value the validator passes breaks a view.

tests/data/extreme.yaml holds dates at both ends of the years the validator allows (1900-2199) in the
zones furthest from UTC, a history `was` at those edges, a 100-year truce and the offset back from its
end, 100 years in hours, a 500-date series with a duplicated exdate, and a timed series across DST in a
half-hour zone. On main, such a `was` (year 1, or 9999) validated and then answered 500 on six endpoints.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from flask import Flask

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.core.calendar import Calendar
from calendar_service.web import create_app
from calendar_service.web.extension import services
from tests.support.paths import TESTS_DATA

QUERIES = {
    "/calendar.ics": ["", "?alarm=P366D", "?country=JP&hs=01", "?action=far"],
    "/api/v1/events": ["", "?country=US", "?status=scheduled"],
    "/api/v1/deadlines/upcoming": ["", "?within=P366D"],
    "/api/v1/changes": ["", "?since=1900-01-01"],
    "/": ["", "?country=CN"],
    "/changes": [""],
    "/changes.atom": [""],
    "/search": ["?q=window", "?q=1900"],
}


@pytest.fixture(params=[dt.datetime(1900, 1, 1, tzinfo=dt.UTC), dt.datetime(2199, 12, 31, 12, tzinfo=dt.UTC)],
                ids=["clock-1900", "clock-2199"])  # fmt: skip
def extreme_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    data = tmp_path / "events.yaml"
    data.write_bytes((TESTS_DATA / "extreme.yaml").read_bytes())
    settings = Settings.from_env(
        {}, data_path=data, state_dir=tmp_path / "state", reload_interval=60, reload_settle=0
    )
    return create_app(settings, clock=SettableClock(request.param))


def _sample_ids(calendar: Calendar) -> list[str]:
    """Every entry's id; of a series, its id and its first, second and last dates (the edges)."""
    ids: list[str] = []
    entry = lambda event: event.series or event.id  # noqa: E731 - a key used twice
    ordered = sorted(calendar, key=lambda event: (entry(event), event.start_utc(dt.UTC)))
    for series, group in itertools.groupby(ordered, key=entry):
        events = list(group)
        ids += [event.id for event in {*events[:2], events[-1]}] + ([series] if events[0].series else [])
    return ids


def _targets(app: Flask) -> list[str]:
    """Every GET route with each value its arguments can take in the file, plus its queries."""
    snapshot = services(app).live.snapshot
    assert snapshot is not None, "the extreme file did not load"
    calendar = snapshot.calendar
    targets: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static" or "subscription" in rule.rule:
            continue
        if "event_id" in rule.arguments:
            for event_id in _sample_ids(calendar):
                targets.append(rule.rule.replace("<event_id>", event_id).replace("<path:event_id>", event_id))
                if rule.rule.startswith("/events/"):
                    targets.append(f"/events/{event_id}.ics")
        elif "action" in rule.arguments:
            targets += [rule.rule.replace("<path:action>", action.id) for action in calendar.actions]
        else:
            targets += [rule.rule + query for query in QUERIES.get(rule.rule, [""])]
    return targets


def test_every_endpoint_answers_without_a_server_error(extreme_app: Flask) -> None:
    client = extreme_app.test_client()
    targets = _targets(extreme_app)
    assert len(targets) > 40
    failures = {}
    for target in targets:
        answer = client.get(target)
        if answer.status_code >= 500:
            failures[target] = answer.status_code
    assert not failures, failures


def test_a_duplicated_exdate_is_published_once(extreme_app: Flask) -> None:
    client = extreme_app.test_client()
    occurrence = client.get("/api/v1/events/daily-2198-01-01").get_json()
    assert occurrence["exdate"] == ["2198-01-02", "2199-05-15"]  # the file lists 2198-01-02 twice
    feed = client.get("/calendar.ics?country=GB").get_data(as_text=True)
    assert "EXDATE;VALUE=DATE:21980102,21990515" in feed
