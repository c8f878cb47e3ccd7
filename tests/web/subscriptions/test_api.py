"""`/api/v1/subscriptions`: auth, validation, nothing half-created, the secret shown once, a real server."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook
from werkzeug.serving import make_server

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as db
from calendar_service.adapters.settings import Settings
from calendar_service.web import create_app

# --- authentication ----------------------------------------------------------------------------------
from tests.support.management import AUTH, BASE, OLD_TOKEN, PUBLIC_URL, TOKEN, create
from tests.support.paths import TESTS_DATA
from tests.support.receiver import Receiver, Reply


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-0000"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer tökén"},
    ],
)
def test_missing_or_wrong_token_is_401_with_a_bearer_challenge(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.get(BASE, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["status"] == 401


def test_both_rotated_tokens_work(client: FlaskClient) -> None:
    for token in (TOKEN, OLD_TOKEN):
        assert client.get(BASE, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_no_token_configured_means_management_is_off(make_app: Callable[..., Flask]) -> None:
    response = make_app(admin_tokens=()).test_client().get(BASE, headers=AUTH)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "set TRADE_CALENDAR_ADMIN_TOKENS" in response.get_json()["detail"]


def test_tokens_and_secrets_never_reach_the_log(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.get(BASE, headers={"Authorization": "Bearer a-wrong-guess-0123456789"})
    created = create(client)
    client.get(f"{BASE}/{created['id']}", headers=AUTH)
    client.delete(f"{BASE}/{created['id']}", headers=AUTH)
    assert "refused" in caplog.text  # the failure itself is logged...
    for secret in (TOKEN, "a-wrong-guess-0123456789", created["secret"], "/hook"):
        assert secret not in caplog.text  # ...but nothing presented, issued, or in the URL path


# --- creating and reading ----------------------------------------------------------------------------


def test_create_shows_the_secret_once(client: FlaskClient, engine: Engine) -> None:
    response = client.post(
        BASE,
        json={"url": PUBLIC_URL, "filter": {"country": "us,cn", "kind": ["Truce"]}, "format": "slack"},
        headers=AUTH,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["secret"].startswith("whsec_")
    assert body["id"].startswith("sub_")
    assert response.headers["Location"] == f"{BASE}/{body['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert body["filter"] == {"country": ["CN", "US"], "kind": ["truce"]}
    assert body["lead_times"] == ["P7D", "P1D", "PT1H"]
    assert (body["format"], body["enabled"], body["failure_count"]) == ("slack", True, 0)
    assert body["created_at"] == "2025-06-10T12:00:00Z"
    assert db.get_subscription(engine, body["id"]).secret == body["secret"]

    shown = client.get(f"{BASE}/{body['id']}", headers=AUTH).get_json()
    listed = client.get(BASE, headers=AUTH).get_json()["subscriptions"]
    assert "secret" not in shown
    assert [s["id"] for s in listed] == [body["id"]]
    assert all("secret" not in s for s in listed)
    assert body["secret"] not in json.dumps([shown, listed])


def test_unknown_id_is_404_problem(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/sub_nope", headers=AUTH)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["subscription_id"] == "sub_nope"


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"lead_times": ["P1D", "-PT1H"]}, ["lead_times[1]"]),
        ({"lead_times": ["P0D"]}, ["lead_times[0]"]),
        ({"lead_times": ["PT1H", "tomorrow", 3]}, ["lead_times[1]", "lead_times[2]"]),
        ({"lead_times": []}, ["lead_times"]),
        ({"lead_times": ["P1D", "P1D"]}, ["lead_times"]),
        ({"format": "discord"}, ["format"]),
        ({"digest": "maybe"}, ["digest"]),
        ({"filter": {"country": ["US", "ZZ"]}}, ["filter.country[1]"]),
        ({"filter": {"kind": "nope"}}, ["filter.kind[0]"]),
        ({"filter": {"tag": "steel tariffs"}}, ["filter.tag[0]"]),
        ({"filter": {"importance": "urgent"}}, ["filter.importance[0]"]),
        ({"filter": {"status": "done"}}, ["filter.status[0]"]),
        ({"filter": {"hs": "85x"}}, ["filter.hs[0]"]),
        ({"filter": "US"}, ["filter"]),
        ({"url": "ftp://example.com/x"}, ["url"]),
        ({"url": 42}, ["url"]),
        ({"colour": "red"}, ["colour"]),
    ],
)
def test_bad_fields_are_400_naming_each_field_and_create_nothing(
    client: FlaskClient, engine: Engine, body: dict[str, Any], fields: list[str]
) -> None:
    response = client.post(BASE, json={"url": PUBLIC_URL, **body}, headers=AUTH)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400
    assert [e["field"] for e in problem["errors"]] == fields
    assert all(e["message"] for e in problem["errors"])
    assert db.list_subscriptions(engine) == []


def test_a_missing_url_is_named(client: FlaskClient) -> None:
    response = client.post(BASE, json={}, headers=AUTH)
    assert [e["field"] for e in response.get_json()["errors"]] == ["url"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://2130706433/hook",
        "http://0177.0.0.1/hook",
        "http://0x7f.1/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.1/hook",
        "http://100.64.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "http://user:pw@93.184.215.14/hook",
    ],
)
def test_hostile_urls_are_refused_at_registration(client: FlaskClient, engine: Engine, url: str) -> None:
    response = client.post(BASE, json={"url": url}, headers=AUTH)
    assert response.status_code == 400, url
    assert [e["field"] for e in response.get_json()["errors"]] == ["url"]
    assert db.list_subscriptions(engine) == []


def test_private_targets_are_allowed_when_configured_but_metadata_never(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(allow_private_webhooks=True).test_client()
    assert client.post(BASE, json={"url": "http://127.0.0.1:9/hook"}, headers=AUTH).status_code == 201
    refused = client.post(BASE, json={"url": "http://169.254.169.254/"}, headers=AUTH)
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("url=https://x", "application/x-www-form-urlencoded", 415),
        ('{"url": "https://x"}', "text/plain", 415),
        ("", None, 415),
        ("{not json", "application/json", 400),
        ('["a list"]', "application/json", 400),
        ('{"url": NaN}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
    ],
)
def test_bodies_that_are_not_a_json_object(
    client: FlaskClient, engine: Engine, data: str | bytes, content_type: str | None, status: int
) -> None:
    response = client.post(BASE, data=data, content_type=content_type, headers=AUTH)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert db.list_subscriptions(engine) == []


def test_a_declared_oversize_body_is_413(client: FlaskClient) -> None:
    body = json.dumps({"url": PUBLIC_URL, "pad": "x" * 70_000})
    response = client.post(BASE, data=body, content_type="application/json", headers=AUTH)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


# --- changing, deleting, enabling --------------------------------------------------------------------


def test_patch_changes_only_what_is_sent(client: FlaskClient, clock: SettableClock) -> None:
    created = create(client, filter={"country": "US"})
    clock.advance(dt.timedelta(minutes=5))
    response = client.patch(f"{BASE}/{created['id']}", json={"lead_times": ["PT30M"]}, headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["lead_times"] == ["PT30M"]
    assert body["filter"] == {"country": ["US"]}
    assert body["updated_at"] == "2025-06-10T12:05:00Z"
    assert "secret" not in body


@pytest.mark.parametrize(
    "patch",
    [
        {"url": "https://93.184.215.15/new", "lead_times": ["P1D", "-P1D"]},  # one good field, one bad
        {"format": "standard", "filter": {"country": "ZZ"}},
        {"url": "http://127.0.0.1/"},
        {"lead_times": None},
        {"secret": "whsec_mine"},
        {"id": "sub_other"},
        {},
    ],
)
def test_an_invalid_patch_leaves_the_record_unchanged(
    client: FlaskClient, engine: Engine, patch: dict[str, Any]
) -> None:
    created = create(client)
    before = db.get_subscription(engine, created["id"])
    response = client.patch(f"{BASE}/{created['id']}", json=patch, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["errors"]
    assert db.get_subscription(engine, created["id"]) == before


def test_patch_can_pause_and_resume(client: FlaskClient) -> None:
    sub_id = create(client)["id"]
    paused = client.patch(f"{BASE}/{sub_id}", json={"enabled": False}, headers=AUTH).get_json()
    assert (paused["enabled"], paused["disabled_reason"]) == (False, "paused by its owner")
    resumed = client.patch(f"{BASE}/{sub_id}", json={"enabled": True}, headers=AUTH).get_json()
    assert (resumed["enabled"], resumed["disabled_reason"]) == (True, None)


def test_patch_of_an_unknown_id_is_404(client: FlaskClient) -> None:
    assert client.patch(f"{BASE}/sub_nope", json={"format": "slack"}, headers=AUTH).status_code == 404


def test_delete_then_it_is_gone(client: FlaskClient) -> None:
    sub_id = create(client)["id"]
    assert client.delete(f"{BASE}/{sub_id}", headers=AUTH).status_code == 204
    assert client.get(f"{BASE}/{sub_id}", headers=AUTH).status_code == 404
    assert client.delete(f"{BASE}/{sub_id}", headers=AUTH).status_code == 404


def test_enable_shows_why_it_had_been_disabled(
    client: FlaskClient, engine: Engine, clock: SettableClock
) -> None:
    sub_id = create(client)["id"]
    db.disable_subscription(engine, sub_id, "HTTP 410 Gone from the endpoint", now=clock.now())
    shown = client.get(f"{BASE}/{sub_id}", headers=AUTH).get_json()
    assert (shown["enabled"], shown["disabled_reason"]) == (False, "HTTP 410 Gone from the endpoint")
    body = client.post(f"{BASE}/{sub_id}/enable", headers=AUTH).get_json()
    assert body["previous_disabled_reason"] == "HTTP 410 Gone from the endpoint"
    assert (body["enabled"], body["disabled_reason"], body["failure_count"]) == (True, None, 0)


# --- delivery log and test sends ---------------------------------------------------------------------


def test_deliveries_of_a_new_subscription_is_an_empty_log(client: FlaskClient) -> None:
    sub_id = create(client)["id"]
    response = client.get(f"{BASE}/{sub_id}/deliveries", headers=AUTH)
    assert (response.status_code, response.get_json()) == (200, {"deliveries": []})
    assert client.get(f"{BASE}/sub_nope/deliveries", headers=AUTH).status_code == 404
    bad = client.get(f"{BASE}/{sub_id}/deliveries?limit=0", headers=AUTH)
    assert [e["field"] for e in bad.get_json()["errors"]] == ["limit"]


def test_digest_is_off_by_default_and_can_be_switched(client: FlaskClient, engine: Engine) -> None:
    assert create(client)["digest"] is False
    sub_id = create(client, digest=True)["id"]
    assert client.get(f"{BASE}/{sub_id}", headers=AUTH).get_json()["digest"] is True
    patched = client.patch(f"{BASE}/{sub_id}", json={"digest": False}, headers=AUTH).get_json()
    assert patched["digest"] is False
    assert db.get_subscription(engine, sub_id).digest is False


def test_the_delivery_log_names_what_a_digest_carried(client: FlaskClient, engine: Engine) -> None:
    sub_id = create(client, digest=True)["id"]
    at = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
    members = (ledger.Member("rem_a", "reminder.due", "ev-a"), ledger.Member("rem_b", "reminder.due", "ev-b"))
    ledger.record_outcomes(
        engine,
        [
            ledger.Outcome(
                "dig_1",
                sub_id,
                "reminder.digest",
                "",
                ledger.DELIVERED,
                1,
                started_at=at,
                status=200,
                latency_ms=12,
                outcome="delivered",
                members=members,
            )
        ],
    )
    (entry,) = client.get(f"{BASE}/{sub_id}/deliveries", headers=AUTH).get_json()["deliveries"]
    assert (entry["webhook_id"], entry["type"], entry["event_id"]) == ("dig_1", "reminder.digest", "")
    assert entry["members"] == [
        {"id": "rem_a", "type": "reminder.due", "event_id": "ev-a"},
        {"id": "rem_b", "type": "reminder.due", "event_id": "ev-b"},
    ]


def test_test_send_reaches_the_receiver_signed_and_is_logged(
    make_app: Callable[..., Flask], receiver: Receiver
) -> None:
    client = make_app(allow_private_webhooks=True).test_client()
    created = create(client, url=receiver.url, format="standard")
    response = client.post(f"{BASE}/{created['id']}/test", headers=AUTH)
    assert response.status_code == 200
    attempt = response.get_json()
    assert (attempt["type"], attempt["status"], attempt["outcome"]) == ("test", 200, "delivered")
    receiver.wait_for(1)
    seen = receiver.requests[0]
    assert seen.headers["webhook-id"] == attempt["webhook_id"]
    # The library's verify() compares with the real time; the app's clock is set to 2025, so check the
    # signature itself against the library's own signing of the same id, timestamp and body.
    stamp = dt.datetime.fromtimestamp(int(seen.headers["webhook-timestamp"]), dt.UTC)
    expected = Webhook(created["secret"]).sign(attempt["webhook_id"], stamp, seen.body.decode())
    assert expected in seen.headers["webhook-signature"].split()
    assert stamp == dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
    assert json.loads(seen.body)["type"] == "test"
    log = client.get(f"{BASE}/{created['id']}/deliveries", headers=AUTH).get_json()["deliveries"]
    assert [(d["webhook_id"], d["status"], d["outcome"]) for d in log] == [
        (attempt["webhook_id"], 200, "delivered")
    ]


def test_a_failed_test_send_is_reported_not_counted(
    make_app: Callable[..., Flask], receiver: Receiver, engine: Engine
) -> None:
    client = make_app(allow_private_webhooks=True).test_client()
    created = create(client, url=receiver.url)
    receiver.script(Reply(410))
    attempt = client.post(f"{BASE}/{created['id']}/test", headers=AUTH).get_json()
    assert (attempt["status"], attempt["outcome"]) == (410, "failed")
    assert db.get_subscription(engine, created["id"]).failure_count == 0


# --- a real server on a loopback port ----------------------------------------------------------------


@pytest.fixture
def server(make_app: Callable[..., Flask]) -> Iterator[tuple[str, int]]:
    srv = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", srv.server_port
    finally:
        srv.shutdown()
        thread.join(5)


def _request(
    server: tuple[str, int], method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        conn.request(method, path, body=body, headers={**AUTH, **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_round_trip_over_a_real_server(server: tuple[str, int]) -> None:
    body = json.dumps({"url": PUBLIC_URL, "lead_times": ["P2D"]}).encode()
    status, headers, raw = _request(server, "POST", BASE, body, **{"Content-Type": "application/json"})
    assert status == 201, raw
    assert headers["Cache-Control"] == "no-store"
    sub_id = json.loads(raw)["id"]
    status, _, raw = _request(server, "GET", f"{BASE}/{sub_id}")
    assert (status, json.loads(raw)["lead_times"]) == (200, ["P2D"])
    assert _request(server, "DELETE", f"{BASE}/{sub_id}")[0] == 204


def test_a_chunked_body_over_the_limit_is_413(server: tuple[str, int]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"url": "' + PUBLIC_URL.encode() + b'", "pad": "'
        for _ in range(100):  # 100 KiB, no Content-Length
            yield b"x" * 1024
        yield b'"}'

    _assert_refused_as_too_large(server, chunks(), chunked=True)


# --- the real application factory ---------------------------------------------------------------------


@pytest.fixture
def real_server(tmp_path: Path, clock: SettableClock) -> Iterator[tuple[str, int]]:
    """`create_app()` as deployed (feeds, API, problems, this blueprint) on a free loopback port."""
    settings = Settings.from_env(
        {},
        data_path=TESTS_DATA / "small.yaml",
        database_url=f"sqlite:///{tmp_path / 'real.sqlite3'}",
        admin_tokens=(TOKEN,),
    )
    srv = make_server("127.0.0.1", 0, create_app(settings, clock=clock), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", srv.server_port
    finally:
        srv.shutdown()
        thread.join(5)


def test_create_app_serves_the_blueprint(real_server: tuple[str, int]) -> None:
    status, headers, _ = _request(real_server, "GET", BASE, Authorization="Bearer nope-nope-nope-nope")
    assert (status, headers["WWW-Authenticate"][:6]) == (401, "Bearer")
    body = json.dumps({"url": "http://127.0.0.1:9/", "lead_times": ["PT1H"]}).encode()
    status, _, raw = _request(real_server, "POST", BASE, body, **{"Content-Type": "application/json"})
    assert status == 400, raw  # private targets are refused by default
    assert json.loads(raw)["errors"][0]["field"] == "url"
    body = json.dumps({"url": PUBLIC_URL, "filter": {"country": "NO"}}).encode()
    status, _, raw = _request(real_server, "POST", BASE, body, **{"Content-Type": "application/json"})
    assert status == 201, raw
    sub_id = json.loads(raw)["id"]
    status, _, raw = _request(real_server, "GET", f"{BASE}/{sub_id}/deliveries")
    assert (status, json.loads(raw)) == (200, {"deliveries": []})


@pytest.mark.parametrize("chunked", [False, True])
def test_create_app_refuses_oversize_bodies(real_server: tuple[str, int], chunked: bool) -> None:
    payload = b'{"url": "' + PUBLIC_URL.encode() + b'", "pad": "' + b"x" * 70_000 + b'"}'
    body: Any = iter([payload[i : i + 4096] for i in range(0, len(payload), 4096)]) if chunked else payload
    _assert_refused_as_too_large(real_server, body, chunked=chunked)


def _assert_refused_as_too_large(server: tuple[str, int], body: Any, *, chunked: bool) -> None:
    """POST `body` (bytes, or an iterator of chunks) and expect a 413 problem."""
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        conn.request(
            "POST",
            BASE,
            body=body,
            headers={**AUTH, "Content-Type": "application/json"},
            encode_chunked=chunked,
        )
        response = conn.getresponse()
        assert response.status == 413
        assert response.getheader("Content-Type") == "application/problem+json"
        response.read()
    finally:
        conn.close()
