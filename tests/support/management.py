"""An app with subscription management on: its tokens and a helper that creates a subscription."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

TOKEN = "t0ken-for-tests-0123456789abcdef"
OLD_TOKEN = "old-token-being-rotated-out-0000"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "/api/v1/subscriptions"
PUBLIC_URL = "https://93.184.215.14/hook"  # a public literal: no DNS needed


def create(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post(BASE, json={"url": PUBLIC_URL, **body}, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]
