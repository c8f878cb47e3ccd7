"""Where the tests find the project's files, and the head of a small test calendar."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "events.yaml"
TESTS_DATA = ROOT / "tests" / "data"
# The `calendar:` block of a small test file, up to `events:`; tests append their events.
CALENDAR_HEAD = """\
calendar:
  name: Test calendar
  timezone: America/New_York
  reviewed: 2026-11-01
  contact: curators@example.org
events:
"""
