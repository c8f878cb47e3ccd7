"""Settings: every TRADE_CALENDAR_* variable converted and checked, a bad one refused in one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calendar_service.adapters.settings import Settings
from calendar_service.cli import main
from calendar_service.core.errors import ConfigError
from tests.support.paths import TESTS_DATA

REFUSED = [
    ("TRADE_CALENDAR_RELOAD_INTERVAL", "abc", "a number of seconds above 0"),
    ("TRADE_CALENDAR_RELOAD_INTERVAL", "0", "a number of seconds above 0"),
    ("TRADE_CALENDAR_RELOAD_INTERVAL", "nan", "a number of seconds above 0"),
    ("TRADE_CALENDAR_WEBHOOK_TIMEOUT", "-1", "above 0 and at most 300"),
    ("TRADE_CALENDAR_WEBHOOK_TIMEOUT", "100000", "above 0 and at most 300"),
    ("TRADE_CALENDAR_CANCELLED_RETENTION_DAYS", "-5", "a whole number of days from 0"),
    ("TRADE_CALENDAR_CANCELLED_RETENTION_DAYS", "1.5", "a whole number of days from 0"),
    ("TRADE_CALENDAR_FEED_REFRESH", "every hour", "a positive ISO 8601 duration"),
    ("TRADE_CALENDAR_FEED_REFRESH", "-PT1H", "a positive ISO 8601 duration"),
    ("TRADE_CALENDAR_FEED_REFRESH", "P0D", "a positive ISO 8601 duration"),
    ("TRADE_CALENDAR_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("TRADE_CALENDAR_ADMIN_TOKENS", "short", "at least 16 characters"),
    ("TRADE_CALENDAR_MAX_BODY_BYTES", "0", "a whole number of bytes above 0"),
    ("TRADE_CALENDAR_MAX_DATA_BYTES", "-1", "a whole number of bytes above 0"),
    ("TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS", "maybe", "true or false"),
    ("TRADE_CALENDAR_BASE_URL", "calendar.example.org", "an absolute http(s):// address"),
    ("TRADE_CALENDAR_DATA_PATH", "", "a file path"),
    ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics", "an existing directory"),
]


@pytest.mark.parametrize(("name", "value", "allowed"), REFUSED)
def test_a_bad_value_is_refused_naming_the_variable_and_what_is_allowed(
    name: str, value: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}: must be ")
    assert allowed in message
    assert "\n" not in message


def test_the_same_checks_hold_for_values_given_in_code() -> None:
    with pytest.raises(ConfigError, match="TRADE_CALENDAR_WEBHOOK_TIMEOUT"):
        Settings.from_env({}, webhook_timeout=-1.0)
    with pytest.raises(ConfigError, match="TRADE_CALENDAR_LOG_LEVEL"):
        Settings.from_env({}, log_level="LOUD")


def test_an_admin_token_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TRADE_CALENDAR_ADMIN_TOKENS": "long-enough-token-0000,s3cr3t"})
    assert "s3cr3t" not in str(caught.value)


def test_good_values_are_converted_per_field(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "TRADE_CALENDAR_DATA_PATH": "elsewhere/events.yaml",
            "TRADE_CALENDAR_RELOAD_INTERVAL": "0.5",
            "TRADE_CALENDAR_WEBHOOK_TIMEOUT": "2.5",
            "TRADE_CALENDAR_CANCELLED_RETENTION_DAYS": "0",
            "TRADE_CALENDAR_FEED_REFRESH": "P1D",
            "TRADE_CALENDAR_LOG_LEVEL": "debug",
            "TRADE_CALENDAR_ADMIN_TOKENS": " a-token-of-16-chars , another-token-16-ch ",
            "TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS": "Yes",
            "TRADE_CALENDAR_MAX_DATA_BYTES": "1048576",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        }
    )
    assert settings.data_path == Path("elsewhere/events.yaml")
    assert (settings.reload_interval, settings.webhook_timeout) == (0.5, 2.5)
    assert settings.cancelled_retention_days == 0
    assert (settings.feed_refresh, settings.log_level) == ("P1D", "DEBUG")
    assert settings.admin_tokens == ("a-token-of-16-chars", "another-token-16-ch")
    assert settings.allow_private_webhooks is True
    assert settings.max_data_bytes == 1048576
    assert settings.prometheus_multiproc_dir == tmp_path


def test_the_defaults_work() -> None:
    settings = Settings.from_env({})
    assert settings.data_path == Path("data/events.yaml")
    assert settings.max_data_bytes == 8 * 1024 * 1024
    assert settings.prometheus_multiproc_dir is None


# --- every command stops at once ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["events"],
        ["upcoming"],
        ["schema"],
        ["subscriptions", "list"],
        ["deliveries", "sub_x"],
        ["serve", "--port", "0"],
        ["worker"],
    ],
)
def test_every_command_refuses_a_bad_setting_in_one_line_with_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, args, env={"TRADE_CALENDAR_LOG_LEVEL": "LOUD"})
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "Error: TRADE_CALENDAR_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'"
    ]


def test_a_url_that_names_no_database_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["subscriptions", "list"], env={"TRADE_CALENDAR_DATABASE_URL": "not a url"}
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: TRADE_CALENDAR_DATABASE_URL: must be an SQLAlchemy URL")
    assert len(result.stderr.strip().splitlines()) == 1


# --- the data commands read TRADE_CALENDAR_DATA_PATH ---------------------------------------------------


@pytest.mark.parametrize(
    "args", [["validate"], ["events", "--format", "json"], ["upcoming", "--days", "3650", "--format", "json"]]
)
def test_data_commands_read_the_configured_data_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no data/events.yaml here
    env = {
        "TRADE_CALENDAR_DATA_PATH": str(TESTS_DATA / "small.yaml"),
        "TRADE_CALENDAR_NOW": "2025-06-10T12:00:00Z",
    }
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    if args[0] == "validate":
        assert "small.yaml: valid" in result.output
    elif args[0] == "events":
        assert json.loads(result.output), "an empty list: the configured file was not read"
    # upcoming: exit 0 already shows the file was read (the default data/events.yaml is not here)
