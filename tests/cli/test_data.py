"""`trade-calendar events` and `upcoming`: filters, date range, JSON shape, a settable clock."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from calendar_service.cli import main
from tests.support.paths import DATA, TESTS_DATA

SAMPLE = str(TESTS_DATA / "valid" / "cli-sample.yaml")
NOW = "2025-06-10T12:00:00Z"


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--data", SAMPLE, "--now", NOW])
    assert result.exit_code == 0, result.output
    return result


def ids(*args: str) -> list[str]:
    return [item["id"] for item in json.loads(run(*args, "--format", "json").stdout)]


def test_events_lists_everything_in_start_order() -> None:
    assert ids("events") == [
        "geneva-truce",
        "london-day-2",
        "cn-rare-earths",
        "eu-steel",
        "reciprocal-july-9",
    ]


def test_country_and_comma_separated_kinds() -> None:
    # '*' (all countries) matches any country filter.
    assert ids("events", "--country", "CN", "--kind", "tariff,truce") == ["geneva-truce", "reciprocal-july-9"]


def test_repeated_country_option() -> None:
    assert "eu-steel" in ids("events", "--country", "EU", "--country", "CN")


def test_from_and_to_are_inclusive_days() -> None:
    # The truce is still running in that range; the 9 July tariff is after it.
    assert ids("events", "--from", "2025-06-20", "--to", "2025-06-30") == [
        "geneva-truce",
        "cn-rare-earths",
        "eu-steel",
    ]
    assert ids("events", "--to", "2025-06-10") == ["geneva-truce", "london-day-2"]


def test_from_keeps_events_still_running() -> None:
    # The truce (14 May + 90 days) is still running on 1 July.
    assert ids("events", "--from", "2025-07-01") == ["geneva-truce", "reciprocal-july-9"]


def test_json_times_have_offset_zone_and_utc() -> None:
    (event,) = json.loads(run("events", "--kind", "talks", "--format", "json").stdout)
    start: dict[str, Any] = event["start"]
    assert start == {
        "local": "2025-06-10T10:40:00+01:00",
        "zone": "Europe/London",
        "utc": "2025-06-10T09:40:00Z",
        "all_day": False,
    }
    assert event["end"]["local"] == "2025-06-10T17:00:00+01:00"


def test_json_all_day_dates_say_so() -> None:
    (event,) = json.loads(run("events", "--kind", "deadline", "--format", "json").stdout)
    assert event["start"]["date"] == "2025-06-30"
    assert event["start"]["all_day"] is True
    # An EU deadline's day is read in Brussels (its day zone), as its `deadline` is.
    assert event["start"]["local"] == "2025-06-30T00:00:00+02:00"
    assert event["start"]["zone"] == event["deadline"]["zone"] == "Europe/Brussels"
    assert event["end"]["date"] == "2025-07-01"  # exclusive


def test_truce_deadline_is_its_end_in_its_own_zone() -> None:
    (event,) = json.loads(run("events", "--kind", "truce", "--format", "json").stdout)
    assert event["deadline"]["local"] == "2025-08-12T00:01:00-04:00"
    assert event["deadline"]["utc"] == "2025-08-12T04:01:00Z"


def test_upcoming_uses_the_given_clock() -> None:
    assert ids("upcoming") == ["cn-rare-earths", "eu-steel", "reciprocal-july-9"]
    assert ids("upcoming", "--days", "10") == ["cn-rare-earths"]
    assert ids("upcoming", "--days", "90") == [
        "cn-rare-earths",
        "eu-steel",
        "reciprocal-july-9",
        "geneva-truce",
    ]


def test_upcoming_clock_from_the_environment() -> None:
    result = CliRunner().invoke(
        main,
        ["upcoming", "--data", SAMPLE, "--format", "json"],
        env={"TRADE_CALENDAR_NOW": "2025-07-20T12:00:00Z"},
    )
    assert result.exit_code == 0, result.output
    assert [e["id"] for e in json.loads(result.stdout)] == ["geneva-truce"]


def test_upcoming_table_says_when_nothing_is_due() -> None:
    result = CliRunner().invoke(main, ["upcoming", "--data", SAMPLE, "--now", "2030-01-01T00:00:00Z"])
    assert result.exit_code == 0
    assert "No deadlines in the next 30 days" in result.stdout


def test_table_lists_times_with_zones() -> None:
    out = run("events", "--kind", "talks").stdout
    assert "2025-06-10 10:40 Europe/London" in out
    assert out.rstrip().endswith("1 event(s)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--now", "yesterday"], "is not ISO 8601"),
        (["--now", "2025-06-10T12:00"], "has no UTC offset"),
        (["--kind", "tarif"], "tarif"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["events", "--data", SAMPLE, *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_invalid_data_file_is_refused_with_a_pointer_to_validate() -> None:
    bad = str(TESTS_DATA / "invalid" / "unknown-kind.yaml")
    result = CliRunner().invoke(main, ["events", "--data", bad, "--now", NOW])
    assert result.exit_code == 1
    assert "unknown kind 'tarif'" in result.stderr
    assert f"trade-calendar validate {bad}" in result.stderr


def test_events_json_says_which_past_dates_no_source_confirms() -> None:
    args = ["events", "--data", str(DATA), "--now", "2026-12-07T12:00:00Z", "--status", "tentative"]
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    flags = {item["id"]: item["unconfirmed"] for item in json.loads(result.stdout)}
    assert flags["apec-2026-shenzhen"] is True
    assert flags["us-301-port-fees-step-2027-04-17"] is False  # still ahead
    assert sum(flags.values()) == 9
