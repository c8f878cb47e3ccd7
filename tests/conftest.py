"""Shared fixtures: paths, a settable clock, sample calendars."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from calendar_service.adapters.clock import SettableClock
from tests.figures import FIGURES

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "events.yaml"
TESTS_DATA = Path(__file__).resolve().parent / "data"
# The `calendar:` block of a small test file, up to `events:`; tests append their events.
CALENDAR_HEAD = """\
calendar:
  name: Test calendar
  timezone: America/New_York
  reviewed: 2026-11-01
  contact: curators@example.org
events:
"""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures tests measured, and which PostgreSQL the `postgres` tests used (or why not)."""
    from tests.dbtargets import postgres_summary

    figures = terminalreporter.config.stash.get(FIGURES, [])
    if figures:
        terminalreporter.section("figures measured by the tests")
        for text in figures:
            terminalreporter.write_line(text)
    terminalreporter.write_line(postgres_summary())


@pytest.fixture
def clock() -> SettableClock:
    """A clock set to a fixed instant; tests move it by hand."""
    return SettableClock(dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC))
