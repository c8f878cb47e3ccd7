"""Small inputs with outsized effects: non-ASCII digits in `hs`, and how much of a bad value a 400 echoes.

On main `hs=٧٢` (Arabic-Indic digits: Python's `\\d` and `int()` take them) was accepted, matched nothing
and was stored in a subscription as is; a 400 for a 1,000-value `alarm=` echoed the whole value (14 KB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.support.management import AUTH, BASE, PUBLIC_URL


@pytest.mark.parametrize("value", ["٧٢", "８５", "85٤٢", "9903.٠١.25"])
def test_non_ascii_digits_are_not_an_hs_code(make_app: Callable[..., Flask], value: str) -> None:
    client = make_app().test_client()
    for path in ("/calendar.ics", "/api/v1/events"):
        assert client.get(path, query_string={"hs": value}).status_code == 400
    home = client.get("/", query_string={"hs": value})  # the page shows everything and says why
    assert "is not a valid filter" in home.get_data(as_text=True)


def test_a_subscription_refuses_non_ascii_digits(make_app: Callable[..., Flask]) -> None:
    body: dict[str, Any] = {"url": PUBLIC_URL, "filter": {"hs": ["٧٢"]}}
    answer = make_app().test_client().post(BASE, json=body, headers=AUTH)
    assert answer.status_code == 400


def test_a_400_echoes_a_bounded_part_of_the_value(make_app: Callable[..., Flask]) -> None:
    alarms = ",".join(f"PT{i}M" for i in range(1, 1001))
    answer = make_app().test_client().get("/calendar.ics", query_string={"alarm": alarms})
    assert answer.status_code == 400
    assert len(answer.data) < 1500  # was 14 KB
    assert answer.get_json()["parameter"] == "alarm"


def test_a_bad_cursor_echo_is_bounded(make_app: Callable[..., Flask]) -> None:
    answer = make_app().test_client().get("/api/v1/events", query_string={"cursor": "x" * 5000})
    assert answer.status_code == 400
    assert len(answer.data) < 1500
