"""The feed over HTTP: filters, validators, conditional requests, caching, errors."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.webapp import render_count

FEED_TYPE = "text/calendar; charset=utf-8"


def test_feed_is_calendar_text_uncompressed_with_strong_validators(client: FlaskClient) -> None:
    response = client.get("/calendar.ics", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == FEED_TYPE
    assert "Content-Encoding" not in response.headers
    etag = response.headers["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert response.headers["Last-Modified"].endswith("GMT")
    # Clients keep the body and revalidate every time: a poll is a 304, not a stale copy.
    assert response.headers["Cache-Control"] == "public, no-cache"
    body = response.data
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert b"UID:tariff-hike" in body
    assert b"UID:london" in body


def test_same_bytes_for_the_same_data(client: FlaskClient) -> None:
    first = client.get("/calendar.ics?kind=tariff")
    second = client.get("/calendar.ics?kind=tariff")
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]


@pytest.mark.parametrize(
    ("header", "value"),
    [("If-None-Match", "{etag}"), ("If-None-Match", 'W/{etag}, "other"'), ("If-Modified-Since", "{lm}")],
)
def test_conditional_request_answers_304_without_body(client: FlaskClient, header: str, value: str) -> None:
    first = client.get("/calendar.ics?country=CN")
    conditional = value.format(etag=first.headers["ETag"], lm=first.headers["Last-Modified"])
    again = client.get("/calendar.ics?country=CN", headers={header: conditional})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, no-cache"


def test_a_first_request_that_is_conditional_gets_a_304_from_the_view(client: FlaskClient) -> None:
    etag = client.get("/calendar.ics?country=CN").headers["ETag"]
    # Another spelling of the same choices: no answer for it yet, so Flask's view answers it.
    again = client.get("/calendar.ics?country=cn,CN&utm_source=x", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert (again.headers["ETag"], again.headers["Cache-Control"]) == (etag, "public, no-cache")
    assert again.headers["Trade-Calendar-Ignored"] == "utm_source"


def test_stale_etag_gets_the_body(client: FlaskClient) -> None:
    response = client.get("/calendar.ics", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.data


def test_if_none_match_wins_over_if_modified_since(client: FlaskClient) -> None:
    first = client.get("/calendar.ics")
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get("/calendar.ics", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("country=EU", [b"UID:eu-hearing"], [b"UID:london"]),
        ("kind=tariff,hearing", [b"UID:tariff-hike", b"UID:eu-hearing"], [b"UID:truce"]),
        ("kind=tariff&kind=hearing", [b"UID:tariff-hike", b"UID:eu-hearing"], [b"UID:truce"]),
        ("hs=854231", [b"UID:tariff-hike"], [b"UID:eu-hearing"]),
        ("tag=reciprocal&importance=high", [b"UID:tariff-hike"], [b"UID:london"]),
        ("authority=IEEPA&status=scheduled", [b"UID:tariff-hike"], [b"UID:truce"]),
    ],
)
def test_filters_select_events(
    client: FlaskClient, query: str, present: list[bytes], absent: list[bytes]
) -> None:
    body = client.get(f"/calendar.ics?{query}").data
    for uid in present:
        assert uid in body
    for uid in absent:
        assert uid not in body


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("country=ZZ", "country"),
        ("kind=party", "kind"),
        ("hs=8a", "hs"),
        ("alarm=tomorrow", "alarm"),
        ("alarm=P99999999999D", "alarm"),  # was TRIGGER:-P99999999999D, centuries before the event
        ("alarm=P367D", "alarm"),
    ],
)
def test_bad_parameters_are_400_problems_naming_the_parameter(
    client: FlaskClient, query: str, parameter: str
) -> None:
    response = client.get(f"/calendar.ics?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.get_json(force=True)
    assert problem["status"] == 400
    assert problem["parameter"] == parameter
    assert parameter in problem["detail"]


def test_alarm_adds_valarm(client: FlaskClient) -> None:
    body = client.get("/calendar.ics?alarm=P1D").data
    assert b"BEGIN:VALARM" in body
    assert b"BEGIN:VALARM" not in client.get("/calendar.ics").data


def test_feed_rendered_once_per_filter_spelling(app: Flask, client: FlaskClient) -> None:
    before = render_count(app)
    client.get("/calendar.ics?kind=tariff,hearing")
    client.get("/calendar.ics?kind=hearing&kind=tariff")
    client.get("/calendar.ics?kind=hearing,tariff")
    assert render_count(app) == before + 1


def test_head_has_headers_and_no_body(client: FlaskClient) -> None:
    client.get("/calendar.ics")
    response = client.head("/calendar.ics")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["ETag"]


@pytest.mark.parametrize(
    ("accept_encoding", "held_suffix", "extra"),
    [
        (None, "", []),
        ("gzip, deflate, br", "", [("Vary", "Accept-Encoding")]),
        ("gzip;q=0, identity", "", []),
        ("gzip", "-gzip", [("Vary", "Accept-Encoding")]),  # a tag the compression layer coined
    ],
)
def test_feed_304_sends_exactly_its_validators_whichever_way_it_is_answered(
    client: FlaskClient, accept_encoding: str | None, held_suffix: str, extra: list[tuple[str, str]]
) -> None:
    # The first conditional request is answered by the Flask view, the repeats by the fast path in
    # front of it, each several times (the parsed Host and Accept-Encoding are remembered): one header list.
    first = client.get("/calendar.ics?kind=tariff")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    held = etag[:-1] + held_suffix + '"'
    headers = {"If-None-Match": held} | ({"Accept-Encoding": accept_encoding} if accept_encoding else {})
    answers = [client.get("/calendar.ics?kind=tariff&utm_source=x", headers=headers) for _ in range(3)]
    answers += [client.get("/calendar.ics?kind=tariff", headers=headers) for _ in range(3)]
    assert [(a.status_code, a.data) for a in answers] == [(304, b"")] * 6
    cache = [("ETag", held), ("Last-Modified", modified), ("Cache-Control", "public, no-cache")]
    ignored = [("Trade-Calendar-Ignored", "utm_source")]
    # Flask's view: werkzeug drops Last-Modified from a 304 (RFC 9110 §15.4.5 lets it go with an ETag).
    assert answers[0].headers.to_wsgi_list() == [cache[0], cache[2], *ignored, *extra]
    assert [a.headers.to_wsgi_list() for a in answers[1:3]] == [[*cache, *ignored, *extra]] * 2
    assert [a.headers.to_wsgi_list() for a in answers[3:]] == [[*cache, *extra]] * 3
