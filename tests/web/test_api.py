"""The JSON API, health, metrics and the documents describing them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient

from calendar_service.adapters.clock import SettableClock


def _json(client: FlaskClient, path: str, status: int = 200) -> Any:
    response = client.get(path)
    assert response.status_code == status, response.data
    return response.get_json(force=True)


def test_events_are_listed_in_time_order_with_zone_and_utc(client: FlaskClient) -> None:
    page = _json(client, "/api/v1/events")
    ids = [e["id"] for e in page["items"]]
    assert ids == ["truce", "london", "eu-hearing", "tariff-hike", "expiry"]
    hike = page["items"][3]
    assert hike["start"] == {
        "local": "2025-07-09T00:01:00-04:00",
        "zone": "America/New_York",
        "utc": "2025-07-09T04:01:00Z",
        "all_day": False,
        "date": None,
        "moment": None,  # only a whole-day deadline says whether its day's start or end counts
    }
    assert hike["history"][0]["kind"] == "rescheduled"
    assert page["next_cursor"] is None
    assert page["total"] == 5


def test_cursor_pagination_walks_every_event_once(client: FlaskClient) -> None:
    seen: list[str] = []
    path = "/api/v1/events?limit=2"
    while True:
        page = _json(client, path)
        seen.extend(e["id"] for e in page["items"])
        if page["next_cursor"] is None:
            break
        path = f"/api/v1/events?limit=2&cursor={page['next_cursor']}"
    assert seen == ["truce", "london", "eu-hearing", "tariff-hike", "expiry"]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("kind=tariff,hearing", ["eu-hearing", "tariff-hike"]),
        ("q=safeguard", ["eu-hearing"]),
        ("q=EO%2014299", ["tariff-hike"]),
        ("from=2025-06-15&to=2025-07-01", ["truce", "eu-hearing"]),
        ("from=2025-07-09T04:00:00Z&to=2025-07-09T05:00:00Z", ["truce", "tariff-hike"]),
        ("hs=8542", ["tariff-hike"]),
    ],
)
def test_event_queries(client: FlaskClient, query: str, ids: list[str]) -> None:
    assert [e["id"] for e in _json(client, f"/api/v1/events?{query}")["items"]] == ids


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("from=yesterday", "from"),
        ("cursor=%%%", "cursor"),
        ("country=XX", "country"),
    ],
)
def test_event_query_errors_name_the_parameter(client: FlaskClient, query: str, parameter: str) -> None:
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json(force=True)["parameter"] == parameter


def test_one_event_with_history_and_404_problem(client: FlaskClient) -> None:
    event = _json(client, "/api/v1/events/tariff-hike")
    assert event["history"][0]["was"]["date"] == "2025-07-01"
    assert event["feed_sequence"] >= 1
    problem = _json(client, "/api/v1/events/nope", 404)
    assert problem["title"] == "No such event"
    assert "nope" in problem["detail"]


def test_upcoming_deadlines_with_time_remaining(client: FlaskClient, clock: SettableClock) -> None:
    page = _json(client, "/api/v1/deadlines/upcoming?within=P30D")
    assert [i["event"]["id"] for i in page["items"]] == ["eu-hearing", "tariff-hike"]
    hike = page["items"][1]
    expected = dt.datetime(2025, 7, 9, 4, 1, tzinfo=dt.UTC) - clock.now()
    assert hike["remaining_seconds"] == int(expected.total_seconds())
    assert hike["remaining"] == "P28DT16H1M"
    assert _json(client, "/api/v1/deadlines/upcoming?within=P5D")["items"] == []
    assert _json(client, "/api/v1/deadlines/upcoming?within=soon", 400)["parameter"] == "within"


def test_changes_since_reads_recorded_history(client: FlaskClient) -> None:
    items = _json(client, "/api/v1/changes?since=2025-06-01")["items"]
    assert [(i["event_id"], i["change"], i["origin"]) for i in items] == [
        ("tariff-hike", "rescheduled", "history")
    ]
    assert _json(client, "/api/v1/changes?since=2025-06-06")["items"] == []
    assert _json(client, "/api/v1/changes", 400)["parameter"] == "since"


@pytest.mark.parametrize("since", ["0001-01-01T01:01:01Z", "0001-01-01", "9999-12-31T23:59:59Z"])
def test_changes_since_the_edges_of_time_is_an_answer_not_a_500(client: FlaskClient, since: str) -> None:
    # Found by schemathesis: year 1 has no local date in a zone west of UTC (OverflowError -> 500).
    items = _json(client, f"/api/v1/changes?since={since}")["items"]
    assert (items != []) == since.startswith("0001")


def test_calendar_metadata(client: FlaskClient) -> None:
    info = _json(client, "/api/v1/calendar")
    assert info["name"] == "Test"
    assert info["events"] == 5
    assert info["reviewed"] == "2026-11-01"
    assert info["counts"]["kind"]["tariff"] == 1
    assert info["counts"]["status"]["held"] == 2


def test_openapi_document_is_valid_3_1_and_lists_every_route(client: FlaskClient) -> None:
    spec = _json(client, "/openapi.json")
    assert spec["components"]["schemas"]["EventOut"]["type"] == "object"
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/calendar.ics",
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/deadlines/upcoming",
        "/api/v1/changes",
        "/api/v1/calendar",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in spec["paths"], path
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert b"/api/v1/deadlines/upcoming" in docs.data
    assert b"<script" not in docs.data
    assert b"cdn" not in docs.data.lower()


def test_health_ready_and_metrics(client: FlaskClient) -> None:
    health = _json(client, "/healthz")
    assert health["status"] == "ok"
    assert health["data_version"]
    assert health["last_failed_reload"] is None
    assert _json(client, "/readyz") == {"ready": True}
    client.get("/calendar.ics")
    client.get("/calendar.ics")
    text = client.get("/metrics").data.decode()
    assert 'trade_calendar_http_requests_total{endpoint="feeds.calendar_feed",status="200"}' in text
    assert "trade_calendar_feed_render_seconds_count 1.0" in text
    assert "trade_calendar_reload_failures_total 0.0" in text
    assert 'trade_calendar_data_info{events="5"' in text


def test_home_page_shows_feed_addresses_and_builds_filtered_links(client: FlaskClient) -> None:
    page = client.get("/", base_url="https://cal.example.org").data.decode()
    assert "webcal://cal.example.org/calendar.ics" in page
    assert "https://cal.example.org/calendar.ics" in page
    assert "Reciprocal tariff increase" in page
    built = client.get("/?country=CN&kind=tariff&alarm=P1D", base_url="https://cal.example.org").data.decode()
    assert "https://cal.example.org/calendar.ics?country=CN&amp;kind=tariff&amp;alarm=P1D" in built
    assert "ZZ" in client.get("/?country=ZZ").data.decode()
