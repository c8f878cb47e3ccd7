"""Secret rotation: `POST /api/v1/subscriptions/{id}/rotate-secret` and the CLI, verified by a receiver.

A real loopback receiver checks every message with the `standardwebhooks` library, as a subscriber
would: during the grace period with either secret, afterwards with the new one only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook, WebhookVerificationError

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import subscriptions as db
from tests.support.management import AUTH, BASE, create
from tests.support.receiver import Receiver
from tests.support.subscriptions_cli import (
    engine_of,
    run,
)


@pytest.fixture
def live_clock(clock: SettableClock) -> SettableClock:
    """The settable clock at the real time: the library's verify() refuses timestamps 5 minutes off."""
    clock.set(dt.datetime.now(dt.UTC).replace(microsecond=0))
    return clock


def rotate(client: FlaskClient, sub_id: str, **kwargs: Any) -> Any:
    return client.post(f"{BASE}/{sub_id}/rotate-secret", headers=AUTH, **kwargs)


def send_test_message(client: FlaskClient, sub_id: str, receiver: Receiver) -> tuple[bytes, dict[str, str]]:
    """Send a test message through the API; the body and headers the receiver got."""
    before = len(receiver.requests)
    assert client.post(f"{BASE}/{sub_id}/test", headers=AUTH).get_json()["outcome"] == "delivered"
    receiver.wait_for(before + 1)
    seen = receiver.requests[before]
    return seen.body, seen.headers


def test_during_the_grace_period_either_secret_verifies_then_only_the_new_one(
    make_app: Callable[..., Flask], receiver: Receiver, live_clock: SettableClock
) -> None:
    client = make_app(allow_private_webhooks=True).test_client()
    created = create(client, url=receiver.url)
    old = created["secret"]
    response = rotate(client, created["id"], json={"grace": "PT2M"})
    assert response.status_code == 200, response.get_json()
    rotated = response.get_json()
    new = rotated["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rotated["previous_secret_expires_at"] == (live_clock.now() + dt.timedelta(minutes=2)).isoformat(
    ).replace("+00:00", "Z")  # fmt: skip

    body, headers = send_test_message(client, created["id"], receiver)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    for secret in (new, old):  # a receiver on either secret accepts it
        assert Webhook(secret).verify(body, headers)["type"] == "test"

    live_clock.advance(dt.timedelta(minutes=2))  # the grace period is over
    body, headers = send_test_message(client, created["id"], receiver)
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(body, headers)["type"] == "test"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)


def test_no_body_means_a_day_of_grace_and_the_secret_is_never_shown_again(
    client: FlaskClient, clock: SettableClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = create(client)
    response = client.post(f"{BASE}/{created['id']}/rotate-secret", headers=AUTH)  # no body at all
    assert response.status_code == 200, response.get_json()
    rotated = response.get_json()
    assert rotated["previous_secret_expires_at"] == "2025-06-11T12:00:00Z"
    assert rotate(client, created["id"], json={}).status_code == 200
    empty_json = rotate(client, created["id"], data=b"", content_type="application/json")
    assert empty_json.status_code == 200, empty_json.get_json()
    shown = client.get(f"{BASE}/{created['id']}", headers=AUTH)
    listed = client.get(BASE, headers=AUTH)
    for text in (shown.get_data(as_text=True), listed.get_data(as_text=True), caplog.text):
        assert created["secret"] not in text
        assert rotated["secret"] not in text
    assert shown.get_json()["previous_secret_expires_at"] == "2025-06-11T12:00:00Z"
    assert "rotated" in caplog.text


def test_zero_grace_stops_the_old_secret_at_once(client: FlaskClient, engine: Engine) -> None:
    created = create(client)
    rotated = rotate(client, created["id"], json={"grace": "PT0S"}).get_json()
    stored = db.get_subscription(engine, created["id"])
    assert stored.secret == rotated["secret"]
    assert stored.secret_in_grace(dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)) is None
    assert rotated["previous_secret_expires_at"] is None


@pytest.mark.parametrize("grace", ["P31D", "-PT1H", "soon", 5, "", "P99999999999D"])
def test_a_bad_grace_period_is_400_naming_it_and_changes_nothing(
    client: FlaskClient, engine: Engine, grace: Any
) -> None:
    created = create(client)
    response = rotate(client, created["id"], json={"grace": grace})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["grace"]
    assert db.get_subscription(engine, created["id"]).secret == created["secret"]


def test_unknown_is_404_and_disabled_is_409_problem(client: FlaskClient, engine: Engine) -> None:
    missing = rotate(client, "sub_nope")
    assert (missing.status_code, missing.mimetype) == (404, "application/problem+json")
    created = create(client)
    client.patch(f"{BASE}/{created['id']}", json={"enabled": False}, headers=AUTH)
    refused = rotate(client, created["id"], json={"grace": "PT1H"})
    assert (refused.status_code, refused.mimetype) == (409, "application/problem+json")
    assert "enable it first" in refused.get_json()["detail"]
    assert db.get_subscription(engine, created["id"]).secret == created["secret"]


def test_the_cli_rotates_through_the_same_use_case(env: dict[str, str]) -> None:
    code, out, err = run(env, "subscriptions", "add", "https://93.184.215.14/hook")
    assert code == 0, err
    sub_id, old = out.split()[0], out.split("secret: ", 1)[1].strip()
    code, out, err = run(env, "subscriptions", "rotate-secret", sub_id, "--grace", "P1D")
    assert code == 0, err
    new = out.split("secret: ", 1)[1].strip()
    assert new.startswith("whsec_")
    assert new != old
    assert "also signs until" in err
    stored = db.get_subscription(engine_of(env), sub_id)
    assert (stored.secret, stored.previous_secret) == (new, old)

    code, _, err = run(env, "subscriptions", "rotate-secret", sub_id, "--grace", "P40D")
    assert code == 2
    assert "--grace" in err
    assert "PT0S..P30D" in err
    code, _, err = run(env, "subscriptions", "rotate-secret", "sub_nope")
    assert code == 1
    assert "no subscription" in err
