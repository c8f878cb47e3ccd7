"""`trade-calendar subscriptions add|list|remove|enable` and `deliveries`, on a SQLite file."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from calendar_service.adapters.db import ledger
from calendar_service.adapters.db import subscriptions as db
from tests.support.subscriptions_cli import (
    engine_of,
    run,
)


def test_add_list_remove_round_trip(env: dict[str, str]) -> None:
    code, out, err = run(
        env, "subscriptions", "add", "https://93.184.215.14/hook",
        "--country", "us,cn", "--kind", "truce", "--lead-time", "P2D", "--lead-time", "PT30M",
        "--format", "teams",
    )  # fmt: skip
    assert code == 0, err
    secret = out.split("secret: ", 1)[1].strip()
    assert secret.startswith("whsec_")
    assert "not shown again" in err
    sub_id = out.split()[0]
    assert sub_id.startswith("sub_")

    code, out, _ = run(env, "subscriptions", "list")
    assert code == 0
    for shown in (sub_id, "teams", "P2D,PT30M", "country=CN,US kind=truce"):
        assert shown in out
    assert secret not in out

    code, out, _ = run(env, "subscriptions", "list", "--format", "json")
    listed = json.loads(out)
    assert [s["id"] for s in listed] == [sub_id]
    assert "secret" not in listed[0]

    code, out, _ = run(env, "subscriptions", "remove", sub_id)
    assert (code, out.strip()) == (0, f"removed {sub_id}")
    code, out, _ = run(env, "subscriptions", "list")
    assert "No subscriptions" in out
    code, _, err = run(env, "subscriptions", "remove", sub_id)
    assert code == 1
    assert sub_id in err


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["http://127.0.0.1/hook"], "url"),
        (["https://93.184.215.14/", "--lead-time", "-P1D"], "lead_times[0]"),
        (["https://93.184.215.14/", "--country", "ZZ"], "filter.country[0]"),
        (["https://93.184.215.14/", "--kind", "picnic"], "filter.kind[0]"),
    ],
)
def test_add_refuses_bad_input_and_creates_nothing(env: dict[str, str], args: list[str], field: str) -> None:
    code, _, err = run(env, "subscriptions", "add", *args)
    assert code == 2
    assert f"{field}:" in err
    assert db.list_subscriptions(engine_of(env)) == []


def test_enable_says_why_it_was_disabled(env: dict[str, str]) -> None:
    code, out, _ = run(env, "subscriptions", "add", "https://93.184.215.14/hook")
    sub_id = out.split()[0]
    engine = engine_of(env)
    db.disable_subscription(engine, sub_id, "HTTP 410 Gone", now=dt.datetime.now(dt.UTC))
    assert "DISABLED (HTTP 410 Gone)" in run(env, "subscriptions", "list")[1]
    code, out, _ = run(env, "subscriptions", "enable", sub_id)
    assert (code, out.strip()) == (0, f"enabled {sub_id} (it had been disabled: HTTP 410 Gone)")


def test_deliveries_of_a_new_subscription(env: dict[str, str]) -> None:
    _, out, _ = run(env, "subscriptions", "add", "https://93.184.215.14/hook")
    sub_id = out.split()[0]
    code, out, _ = run(env, "deliveries", sub_id)
    assert (code, out.strip()) == (0, f"No delivery attempts for {sub_id} yet.")
    assert run(env, "deliveries", sub_id, "--format", "json")[1].strip() == "[]"
    assert run(env, "deliveries", "sub_nope")[0] == 1


def test_add_with_digest_and_the_log_lists_what_a_digest_carried(env: dict[str, str]) -> None:
    code, out, err = run(env, "subscriptions", "add", "https://93.184.215.14/hook", "--digest")
    assert code == 0, err
    sub_id = out.split()[0]
    assert "standard+digest" in run(env, "subscriptions", "list")[1]
    assert json.loads(run(env, "subscriptions", "list", "--format", "json")[1])[0]["digest"] is True
    members = (ledger.Member("rem_a", "reminder.due", "ev-a"), ledger.Member("rem_b", "reminder.due", "ev-b"))
    ledger.record_outcomes(
        engine_of(env),
        [
            ledger.Outcome(
                "dig_1",
                sub_id,
                "reminder.digest",
                "",
                ledger.DELIVERED,
                1,
                started_at=dt.datetime(2026, 7, 8, 4, 1, tzinfo=dt.UTC),
                status=200,
                latency_ms=9,
                outcome="delivered",
                members=members,
            )
        ],
    )
    code, out, _ = run(env, "deliveries", sub_id)
    lines = out.splitlines()
    assert lines[0] == "2026-07-08T04:01:00Z  reminder.digest  2 item(s)  #1  200  9ms  delivered"
    assert lines[1:] == ["    reminder.due  ev-a  rem_a", "    reminder.due  ev-b  rem_b"]
    shown = json.loads(run(env, "deliveries", sub_id, "--format", "json")[1])
    assert [m["id"] for m in shown[0]["members"]] == ["rem_a", "rem_b"]


def test_add_beyond_the_cap_is_refused_in_one_line(env: dict[str, str]) -> None:
    capped = {**env, "TRADE_CALENDAR_MAX_SUBSCRIPTIONS": "1"}
    assert run(capped, "subscriptions", "add", "https://93.184.215.14/hook")[0] == 0
    code, out, err = run(capped, "subscriptions", "add", "https://93.184.215.14/other")
    assert (code, out) == (1, "")
    assert "TRADE_CALENDAR_MAX_SUBSCRIPTIONS" in err
    assert len(db.list_subscriptions(engine_of(env))) == 1
