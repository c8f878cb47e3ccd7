"""Bad input on every feed and API address (issue 7 "Bad input", issue 12 item 9).

Unknown parameter names are ignored and named in `Trade-Calendar-Ignored`; a malformed value of a known
name is a 400 problem naming it; a valid value the data does not hold is an empty 200, the same way for
every filter; no client input answers 500.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.settings import Settings
from calendar_service.core.filters import FILTER_PARAMETERS
from calendar_service.web import create_app
from calendar_service.web.ignored import HEADER, MAX_LISTED, MAX_NAME, header_value
from tests.support.webapp import LiveServer, reloaded, render_count

FILTERED = ["/calendar.ics", "/api/v1/events", "/api/v1/deadlines/upcoming"]
# A valid value of every filter that no event in the sample data has.
ABSENT = {
    "country": "DE",
    "kind": "summit",
    "tag": "rare-earths",
    "importance": "low",
    "status": "postponed",
    "authority": "Section 232",
    "hs": "9903.88.15",
    "action": "eu-steel-quota",
}
MALFORMED = {
    "country": "XX",
    "kind": "party",
    "tag": "Two Words",
    "importance": "urgent",
    "status": "done",
    "authority": "Section 999",
    "hs": "8a",
    "action": "a_b",
}


def test_every_filter_has_an_absent_and_a_malformed_case() -> None:
    assert set(ABSENT) == set(MALFORMED) == set(FILTER_PARAMETERS)


def _items(client: FlaskClient, path: str, query: str) -> list[str]:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    if path.endswith(".ics"):
        return [line for line in response.get_data(as_text=True).splitlines() if line.startswith("UID:")]
    return list(response.get_json()["items"])


@pytest.mark.parametrize("path", FILTERED)
@pytest.mark.parametrize("name", FILTER_PARAMETERS)
def test_a_valid_value_the_data_does_not_hold_is_an_empty_result(
    client: FlaskClient, path: str, name: str
) -> None:
    assert _items(client, path, f"{name}={ABSENT[name]}") == []


@pytest.mark.parametrize("path", FILTERED)
@pytest.mark.parametrize("name", FILTER_PARAMETERS)
def test_a_malformed_value_is_a_400_naming_the_parameter(client: FlaskClient, path: str, name: str) -> None:
    response = client.get(f"{path}?{name}={MALFORMED[name]}&utm_source=x")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["parameter"], problem["value"]) == (name, MALFORMED[name])
    assert name in problem["detail"]
    assert response.headers[HEADER] == "utm_source"


@pytest.mark.parametrize(
    "path",
    [
        *FILTERED,
        "/api/v1/events/tariff-hike",
        "/api/v1/changes?since=2025-01-01",
        "/api/v1/calendar",
        "/",
    ],
)
def test_unknown_parameters_are_ignored_and_named(live_server: LiveServer, path: str) -> None:
    plain = live_server.get(path)
    joined = "&" if "?" in path else "?"
    response = live_server.get(f"{path}{joined}cuntry=GB&utm_source=mail&_=1700000000")
    assert response.status_code == 200, response.text
    assert response.headers[HEADER] == "cuntry, utm_source, _"
    assert HEADER not in plain.headers
    if path in FILTERED:
        assert response.content == plain.content
        filtered = live_server.get(f"{path}?kind=tariff&utm_source=mail")
        assert filtered.content == live_server.get(f"{path}?kind=tariff").content != plain.content


def test_ignored_names_are_encoded_not_injected(client: FlaskClient) -> None:
    response = client.get("/api/v1/events?a%0d%0aX-Evil%3a%201=1&%C3%A9t%C3%A9=2")
    assert response.status_code == 200
    assert response.headers[HEADER] == "a%0D%0AX-Evil%3A%201, %C3%A9t%C3%A9"
    assert "X-Evil" not in response.headers


def test_the_ignored_list_is_capped_and_always_a_valid_header() -> None:
    many = header_value(f"p{i}" for i in range(3000))
    assert many is not None
    assert many.startswith("p0, p1, ")
    assert many.endswith(", ...")
    assert many.count(",") == MAX_LISTED
    assert header_value(["a\udcff", "", "x" * 500]) == 'a%3F, "", ' + "x" * MAX_NAME
    assert header_value([]) is None


def test_ignored_parameters_do_not_split_the_feed_cache_or_its_etag(
    app: Flask, live_server: LiveServer
) -> None:
    before = render_count(app)
    first = live_server.get("/calendar.ics?kind=tariff")
    spellings = [f"/calendar.ics?kind=tariff&_={stamp}" for stamp in range(1700000000, 1700000005)]
    answers = [live_server.get(path) for path in spellings]
    assert {a.headers["ETag"] for a in answers} == {first.headers["ETag"]}
    assert {a.content for a in answers} == {first.content}
    assert render_count(app) == before + 1
    # A repeat of one spelling comes from the fast path; it still names what it ignored, also on a 304.
    again = live_server.get(spellings[0], headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers[HEADER] == "_"
    assert HEADER not in live_server.get("/calendar.ics?kind=tariff").headers


def test_subscribed_feed_url_survives_the_data_losing_its_last_tagged_event(
    client: FlaskClient, data_file: Path
) -> None:
    assert len(_items(client, "/calendar.ics", "tag=reciprocal")) == 1
    text = data_file.read_text(encoding="utf-8")
    data_file.write_text(text.replace("tags: [reciprocal]", "tags: []"), encoding="utf-8")
    reloaded(client.application)
    assert _items(client, "/calendar.ics", "tag=reciprocal") == []
    assert _items(client, "/api/v1/events", "tag=reciprocal") == []


def test_action_filters_feed_and_api(client: FlaskClient, data_file: Path) -> None:
    text = data_file.read_text(encoding="utf-8")
    text = text.replace("tags: [reciprocal]\n", "tags: [reciprocal]\n    action: eo-14299\n")
    # An event may only name a listed action (issue 10): list it before the events.
    action = 'actions:\n  - {id: eo-14299, title: EO 14299, sources: [{title: EO, url: "https://example.org/eo"}]}\n'
    data_file.write_text(text.replace("events:\n", action + "events:\n", 1))
    reloaded(client.application)
    assert _items(client, "/calendar.ics", "action=eo-14299") == ["UID:tariff-hike@trade-calendar"]
    assert [e["id"] for e in _items(client, "/api/v1/events", "action=EO-14299")] == ["tariff-hike"]


# --- issue 12 item 9: client input that answered 500 ---------------------------------------------------

# A cursor as the API encodes them, but with an instant that has no UTC offset.
NAIVE_CURSOR = base64.urlsafe_b64encode(b"2025-06-10T12:00:00|truce").decode()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("/api/v1/deadlines/upcoming?within=PT99999999H", "within"),
        ("/api/v1/deadlines/upcoming?within=P99999999999D", "within"),
        ("/api/v1/events?cursor=" + NAIVE_CURSOR, "cursor"),
        ("/calendar.ics?country=%00", "country"),
        ("/api/v1/events?hs=" + "8" * 5000, "hs"),
    ],
)
def test_hostile_queries_are_400_naming_the_parameter(
    client: FlaskClient, query: str, parameter: str
) -> None:
    response = client.get(query)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["parameter"] == parameter


TOKEN = "bad-input-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUBS = "/api/v1/subscriptions"


@pytest.fixture
def managed(settings: Settings, clock: SettableClock, engine: Engine) -> FlaskClient:
    """The whole app with subscription management on, on SQLite or PostgreSQL (conftest's `engine`)."""
    managing = Settings.from_env(
        {},
        data_path=settings.data_path,
        state_dir=settings.state_dir,
        admin_tokens=(TOKEN,),
        base_url="",
        reload_settle=0,
    )
    return create_app(managing, clock=clock, engine=engine).test_client()


def _refused(response: object, field: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.mimetype == "application/problem+json"  # type: ignore[attr-defined]
    assert field in [e["field"] for e in response.get_json()["errors"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": {"kind": [1]}}, "filter.kind[0]"),
        ({"filter": {"country": [False]}}, "filter.country[0]"),
        ({"filter": {"tag": [None, "ok"]}}, "filter.tag[0]"),
        ({"filter": {"hs": [{"a": 1}]}}, "filter.hs[0]"),
        ({"url": "https://93.184.215.14/a\u0000b"}, "url"),
        ({"url": "https://93.184.215.14/a b"}, "url"),
    ],
)
def test_non_text_filter_values_and_control_characters_are_400_naming_the_field(
    managed: FlaskClient, engine: Engine, body: dict[str, object], field: str
) -> None:
    _refused(managed.post(SUBS, json={"url": "https://93.184.215.14/h", **body}, headers=AUTH), field)
    created = managed.post(SUBS, json={"url": "https://93.184.215.14/h"}, headers=AUTH)
    assert created.status_code == 201
    _refused(managed.patch(f"{SUBS}/{created.get_json()['id']}", json=body, headers=AUTH), field)
    assert [s["url"] for s in managed.get(SUBS, headers=AUTH).get_json()["subscriptions"]] == [
        "https://93.184.215.14/h"
    ]


def test_a_body_nested_thousands_deep_is_400(managed: FlaskClient) -> None:
    deep = "[" * 5000 + "]" * 5000
    for body in (deep, '{"url": "https://93.184.215.14/h", "filter": {"kind": ' + deep + "}}"):
        _refused(managed.post(SUBS, data=body, content_type="application/json", headers=AUTH), "body")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/enable"),
        ("get", "/deliveries"),
        ("post", "/test"),
    ],
)
def test_an_id_with_a_nul_is_not_found(managed: FlaskClient, method: str, path: str) -> None:
    response = getattr(managed, method)(f"{SUBS}/sub_a%00b{path}", json={"enabled": True}, headers=AUTH)
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert getattr(managed, method)(f"{SUBS}/sub_a%00b{path}").status_code == 401  # the token comes first


@pytest.mark.parametrize("name", FILTER_PARAMETERS)
def test_subscriptions_take_every_feed_filter_and_values_the_data_lacks(
    managed: FlaskClient, name: str
) -> None:
    created = managed.post(
        SUBS, json={"url": "https://93.184.215.14/h", "filter": {name: ABSENT[name]}}, headers=AUTH
    )
    assert created.status_code == 201, created.get_json()
    assert list(created.get_json()["filter"]) == [name]
    _refused(
        managed.post(
            SUBS, json={"url": "https://93.184.215.14/h", "filter": {name: [MALFORMED[name]]}}, headers=AUTH
        ),
        f"filter.{name}[0]",
    )


def test_the_openapi_document_describes_the_filters_and_the_ignored_header(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    for path in FILTERED:
        operation = document["paths"][path]["get"]
        assert set(FILTER_PARAMETERS) <= {p["name"] for p in operation["parameters"]}
        assert HEADER in operation["responses"]["200"]["headers"]
    assert HEADER in document["info"]["description"]
    assert set(document["components"]["schemas"]["FilterInput"]["properties"]) == set(FILTER_PARAMETERS)
