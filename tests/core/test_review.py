"""`trade-calendar review`: the curator's to-do list, read at a fixed instant."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner, Result

from calendar_service.cli import main
from calendar_service.core.datafile import load_calendar, parse_calendar
from calendar_service.core.review import Reason, review_calendar
from tests.support.outcomes import NOT_YET_RECORDED, RECORDED
from tests.support.paths import CALENDAR_HEAD, TESTS_DATA

SAMPLE = str(TESTS_DATA / "review.yaml")
NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, ["review", "--data", SAMPLE, "--now", NOW.isoformat(), *args])
    assert result.exit_code == 0, result.output
    return result


def test_each_reason_in_date_order() -> None:
    calendar = load_calendar(SAMPLE, today=NOW.date()).calendar
    items = review_calendar(calendar, NOW, dt.timedelta(days=30))
    assert [(item.event.id, item.reason) for item in items] == [
        ("past-still-scheduled", Reason.PAST_STILL_OPEN),
        ("tentative-near", Reason.TENTATIVE_NEAR),
        ("deadline-never-verified", Reason.STALE_VERIFICATION),
        ("deadline-verified-long-ago", Reason.STALE_VERIFICATION),
    ]


def test_window_and_staleness_are_settable() -> None:
    calendar = load_calendar(SAMPLE, today=NOW.date()).calendar
    wide = {item.event.id for item in review_calendar(calendar, NOW, dt.timedelta(days=90))}
    assert "deadline-far-away" in wide
    # Verified 5 days ago: stale only when a day-old check is already too old.
    strict = review_calendar(calendar, NOW, dt.timedelta(days=30), stale_after=dt.timedelta(days=1))
    assert "deadline-verified-recently" in {item.event.id for item in strict}


def test_table_says_where_and_what_to_do() -> None:
    lines = run().stdout.splitlines()
    assert lines[0].startswith(f"{SAMPLE}:9: past-still-open: past-still-scheduled: was on 2025-06-02 ")
    assert "is still scheduled — set held, cancelled or postponed" in lines[0]
    assert any(
        "deadline-never-verified: deadline 2025-06-20, never verified — re-check the sources" in line
        for line in lines
    )
    assert any(
        "deadline-verified-long-ago: deadline 2025-06-30, last verified 2025-03-01" in line for line in lines
    )
    assert any("tentative-near: tentative and starts 2025-06-18" in line for line in lines)
    assert lines[-1] == "4 item(s) to review"


def test_within_option_and_json() -> None:
    items = json.loads(run("--within", "P90D", "--format", "json").stdout)
    assert [item["id"] for item in items][-1] == "deadline-far-away"
    far = items[-1]
    assert far["reason"] == "stale-verification"
    assert far["when"] == "2025-08-13T04:00:00Z"  # a deadline day counts to its end: midnight after, New York
    assert far["line"] == 59


def test_later_clock_turns_the_tentative_into_a_past_item() -> None:
    result = CliRunner().invoke(
        main, ["review", "--data", SAMPLE, "--now", "2025-06-19T12:00:00Z", "--format", "json"]
    )
    reasons = {item["id"]: item["reason"] for item in json.loads(result.stdout)}
    assert reasons["tentative-near"] == "past-still-open"


def test_bad_duration_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["review", "--data", SAMPLE, "--within", "30 days"])
    assert result.exit_code == 2
    assert "--within" in result.stderr


def test_the_file_comes_from_the_setting_when_not_given() -> None:
    result = CliRunner().invoke(
        main, ["review", "--now", NOW.isoformat()], env={"TRADE_CALENDAR_DATA_PATH": SAMPLE}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{SAMPLE}:9: past-still-open: past-still-scheduled:")


UNCONFIRMED = RECORDED + NOT_YET_RECORDED


def test_a_past_tentative_event_says_date_passed_outcome_not_confirmed() -> None:
    calendar = parse_calendar(
        (CALENDAR_HEAD + UNCONFIRMED).encode(), "events.yaml", today=dt.date(2026, 12, 7)
    )
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    recorded, pending = review_calendar(calendar.calendar, now, dt.timedelta(days=30))
    assert (recorded.event.id, recorded.reason) == ("recorded", Reason.OUTCOME_UNCONFIRMED)
    assert (
        "date passed, outcome not confirmed (last looked 2026-12-07) — look for a source" in recorded.message
    )
    assert (pending.event.id, pending.reason) == ("not-yet-recorded", Reason.PAST_STILL_OPEN)
    assert "still tentative: date passed, outcome not confirmed" in pending.message
    assert "`outcome: unconfirmed` if no source says" in pending.message
